"""What the chat and account apps share: the error vocabulary, input rules and the REST error mapping."""
