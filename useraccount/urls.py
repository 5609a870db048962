from django.urls import path

from . import api

urlpatterns = [
    path("register/", api.RegisterView.as_view(), name="auth-register"),
    path("login/", api.LoginView.as_view(), name="auth-login"),
    path("token/refresh/", api.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("logout/", api.LogoutView.as_view(), name="auth-logout"),
    path("me/", api.MeView.as_view(), name="auth-me"),
    path("users/", api.UserSearchView.as_view(), name="auth-user-search"),
    path("blocks/", api.BlocksView.as_view(), name="auth-blocks"),
    path("blocks/<str:user_id>/", api.BlockView.as_view(), name="auth-block"),
    path("<str:user_id>/", api.UserDetailView.as_view(), name="auth-user"),
]
