"""Tests of translate/commands/."""
