"""Delivery and read receipts: delivered positions written in batches, members' positions and per-message counts read back."""
