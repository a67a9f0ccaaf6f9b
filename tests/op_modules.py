"""Every module of tinygrad_lite.ops that defines Function classes (the op modules), found by
walking the package, so a new op module cannot slip past the spec and docs meta-tests. Modules
without a Function (ops/arguments.py, shared argument checks) are not op modules."""

import importlib
import inspect
import pkgutil

from tinygrad_lite import ops
from tinygrad_lite.autograd import Function


def functions_of(module) -> dict[str, type]:
    return {
        name: cls
        for name, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Function)
        and cls.__module__ == module.__name__
        and not cls.__dict__.get("abstract", False)  # a base (ReducedLoss): seen through its ops
    }


OP_MODULES = [
    module
    for info in pkgutil.iter_modules(ops.__path__)
    if functions_of(module := importlib.import_module(f"{ops.__name__}.{info.name}"))
]
