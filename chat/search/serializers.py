"""
Shapes: the search endpoints' input.
"""


from django.conf import settings
from rest_framework import serializers



class SearchInput(serializers.Serializer):
    q = serializers.CharField(max_length=200, help_text="Words to find (docs/search.md).")
    cursor = serializers.CharField(required=False, help_text="From a `Link` header; opaque.")

    def get_fields(self):
        fields = super().get_fields()
        fields["limit"] = serializers.IntegerField(
            required=False, min_value=1, max_value=settings.CHAT_SEARCH_PAGE_MAX,
            help_text="Results per page (default CHAT_SEARCH_PAGE_SIZE, 20; at most CHAT_SEARCH_PAGE_MAX, 50).",
        )
        return fields

    def validate(self, attrs):
        # An empty ``cursor=`` would pass as absent (DRF reads an empty
        # optional query parameter so); the schema says at least one character.
        if self.initial_data.get("cursor") == "":
            raise serializers.ValidationError({"cursor": ["This field may not be blank."]})
        return attrs

    @classmethod
    def optional(cls):
        """
        The same parameters, with ``q`` optional (a message list that searches
        only when asked to), and without ``limit``: the list has its own, whose
        description gives both bounds (one name, one parameter in the schema).
        """
        instance = cls()
        instance.fields["q"].required = False
        del instance.fields["limit"]
        return instance
