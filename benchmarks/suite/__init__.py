"""The held-out quality suite (#28): configs trained on four tasks with a right answer for every held-out image,
checkpoints chosen on a validation split and reported on a test split from other photos or scenes.

The full suite (both quick-start configs, four tasks, three seeds, one 10,000-batch run per seed scored at 1,000,
3,000 and 10,000 batches; resumable: run it again after an interruption):

    python -m benchmarks.suite run
    python -m benchmarks.suite run --tasks tone texture object shape --seeds 0 1 2 --lengths 1000 3000 10000 \\
        --every 500 --variants configs/quickstart_official.yaml configs/quickstart.yaml   # the same, after the rename

``--variants`` defaults to the official quick start and the recipe, found by path: configs/quickstart_official.yaml
(else configs/quickstart.yaml) and configs/quickstart_modern.yaml (else configs/quickstart.yaml), so the command is
the same before and after the recipe becomes configs/quickstart.yaml. A variant is config paths and ``KEY=VALUE``
overrides in one argument (``"configs/quickstart.yaml model.init_args.lambda_identity=0.5"``); ``--set KEY=VALUE``
goes on every variant. Then:

    python -m benchmarks.suite render benchmarks/results/<date>-<machine>-quality-suite.json   # the markdown tables
    python -m benchmarks.suite time      # seconds per 1,000 batches of each task and variant (a 40-batch run each)

Tasks (benchmarks/suite/tasks.py): ``tone`` and ``texture`` (a colour grade and an unsharp mask of scikit-image's
photos: training crops from astronaut, both motorcycle views, hubble_deep_field and retina, validation crops from
rocket and ihc, test crops from chelsea and coffee), ``object`` (apples -> oranges, datasets/make_fruit.py's twins,
validation and test scenes from their own random streams), ``shape`` (circles -> squares, datasets/make_shapes.py,
scored by benchmarks/shapes.py). Data goes to ``<out>/data/<task>``, runs to ``<out>/runs/<task>/<variant>/seed<N>``
(``translate fit`` in a subprocess with one thread: benchmarks/suite/training.py), each checkpoint's val and test
scores to ``scores.json`` beside it; a run whose last checkpoint exists is skipped, one cut short resumes from its
``last.ckpt``. The JSON (machine, command, every row: task, variant, config, overrides, seed, length, selection,
checkpoint, split, metric, value) is rewritten after every run.
"""
