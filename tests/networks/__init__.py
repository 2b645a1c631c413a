"""Tests of translate/networks/."""
