"""Tests of translate/models/."""
