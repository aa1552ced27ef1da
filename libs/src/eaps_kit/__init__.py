"""Shared runtime kit of the e-APS services."""
