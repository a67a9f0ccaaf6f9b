def max_difference(model, reference) -> float:
    """The largest absolute difference between two models' state_dicts (the same keys)."""
    import numpy as np

    ours, theirs = model.state_dict(), reference.state_dict()
    return max(float(np.abs(ours[k] - theirs[k]).max()) for k in ours)
