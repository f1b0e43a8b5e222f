"""Shared by every test folder: nothing here talks to a real network."""
