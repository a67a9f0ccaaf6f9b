"""Every module of tinygrad_lite.ops and the Function classes it defines, found by walking the
package, so a new op module cannot slip past the spec and docs meta-tests."""

import importlib
import inspect
import pkgutil

from tinygrad_lite import ops
from tinygrad_lite.autograd import Function

OP_MODULES = [
    importlib.import_module(f"{ops.__name__}.{info.name}")
    for info in pkgutil.iter_modules(ops.__path__)
]


def functions_of(module) -> dict[str, type]:
    return {
        name: cls
        for name, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Function) and cls.__module__ == module.__name__
    }
