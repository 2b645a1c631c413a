"""What training needs beside the models: callbacks, the DDP strategy, atomic checkpoints, FID during validation,
and the LightningCLI behind ``translate fit|validate|test``."""
