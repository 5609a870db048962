"""Admin pages that show a record: nothing is added, changed or deleted through them."""


class ReadOnlyAdminMixin:
    """
    No add, change or delete permission, for a ModelAdmin or an inline, so
    the page has no Save or Delete to mislead (each admin says why it is a
    record). Viewing still needs the model's view permission.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
