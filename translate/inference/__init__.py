"""Trained models at work: loading checkpoints, translators, folder prediction, tiling, export and official weights.

Everything here goes through the model contract (``translate.models.contract``), never a model's class.
"""
