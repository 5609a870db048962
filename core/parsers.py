"""
The REST JSON parser: DRF's, with absurdly nested bodies refused as a 400.

Python's json module recurses once per nesting level, so a 4 KB body of
``[[[[…]]]]`` raises RecursionError, which DRF's parser does not catch (a
500). The socket frame parser (chat.realtime.commands.decode) does the same.
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser


class JSONParser(DRFJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.")
