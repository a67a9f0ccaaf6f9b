"""The example programs our users start from (../shared/SEED_EXAMPLES.md), written for our API.

Each module has `run(...) -> dict` (the results, for tests) and prints a report when run as a
script or with `tinygrad-lite demo NAME`.
"""

EXAMPLES = {
    "chain-rule": "chain_rule",
    "compress": "compress",
    "e1": "e1_xor",
    "e2": "e2_linear_regression",
    "e3": "e3_binary_classification",
    "e4": "e4_sum_rule",
    "e5": "e5_logistic_regression",
    "e6": "e6_digits_mlp",
    "e7": "e7_digits_cnn",
    "e8": "e8_image_folder_cnn",
    "gpt": "e9_gpt",
    "gpt-levers": "gpt_levers",
    "e10": "e10_lstm_sine",
}
