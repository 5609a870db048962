from django.urls import path

from . import api, session_api, status_api

urlpatterns = [
    path("register/", api.RegisterView.as_view(), name="auth-register"),
    path("login/", api.LoginView.as_view(), name="auth-login"),
    path("token/refresh/", api.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("logout/", api.LogoutView.as_view(), name="auth-logout"),
    path("password/", api.PasswordChangeView.as_view(), name="auth-password"),
    path("password/reset/", api.PasswordResetView.as_view(), name="auth-password-reset"),
    path("password/reset/confirm/", api.PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"),
    path("me/", api.MeView.as_view(), name="auth-me"),
    path("sessions/", session_api.SessionsView.as_view(), name="auth-sessions"),
    path("sessions/<str:session_id>/", session_api.SessionView.as_view(), name="auth-session"),
    path("me/status/", status_api.StatusView.as_view(), name="auth-me-status"),
    path("me/delete/", api.AccountDeleteView.as_view(), name="auth-me-delete"),
    path("users/", api.UserSearchView.as_view(), name="auth-user-search"),
    path("blocks/", api.BlocksView.as_view(), name="auth-blocks"),
    path("blocks/<str:user_id>/", api.BlockView.as_view(), name="auth-block"),
]
