"""The Playground page: generation from any checkpoint, streamed token by token, compared side by side."""
