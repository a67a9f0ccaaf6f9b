"""float16 / bfloat16 on the GPU: the 16-bit kernel instantiations against the same code on the CPU
emulation (within one 16-bit ulp: the GPU's exp/tanh/erf may differ from libm in float32's last
bit, which can move a rounding tie), the cuBLAS compute type, and autocast training."""

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.cuda import activation, emulation, softmax_xent

from .gpu_only import cupy


def _low_dtypes():
    dtypes = [np.dtype(np.float16)]
    try:
        dtypes.append(tl.backend.bfloat16())
        cupy.zeros(1, dtypes[-1])  # CuPy before bfloat16 support refuses the dtype
    except Exception:
        dtypes = dtypes[:1]
    return dtypes


LOW = _low_dtypes()


def within_one_ulp(gpu, cpu):
    got, want = cupy.asnumpy(gpu).astype(np.float64), cpu.astype(np.float64)
    spacing = np.abs(want) * 2.0**-7 + 1e-30  # bfloat16's ulp bound; float16's is 8x finer
    assert np.all(np.abs(got - want) <= spacing), np.max(np.abs(got - want) / spacing)


@pytest.mark.skipif(not emulation.available(), reason="needs a C++ compiler for the emulation")
@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("name", activation.NAMES)
def test_16_bit_activation_kernels_equal_their_emulation(name, dtype):
    scalars = (0.01,) if name == "leaky_relu" else ()
    x = (np.random.default_rng(0).standard_normal(1_000_003) * 4).astype(dtype)
    within_one_ulp(activation.forward(name, cupy.asarray(x), *scalars),
                   activation.forward(name, x, *scalars))  # fmt: skip


@pytest.mark.skipif(not emulation.available(), reason="needs a C++ compiler for the emulation")
@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_16_bit_softmax_cross_entropy_returns_a_float32_loss(dtype):
    rng = np.random.default_rng(1)
    logits = (rng.standard_normal((300, 1000)) * 5).astype(dtype)
    target = rng.dirichlet(np.ones(1000), 300).astype(dtype)
    loss, _, _ = softmax_xent.forward(cupy.asarray(logits), cupy.asarray(target))
    want, _, _ = softmax_xent.forward(logits, target)
    assert loss.dtype == np.float32
    np.testing.assert_allclose(cupy.asnumpy(loss), want, rtol=1e-5)


def test_float16_products_accumulate_in_float32():
    # 4096 ones summed: float16 accumulation stops at 2048 (2048 + 1 rounds back to 2048)
    a = tl.ones((1, 4096), dtype=np.float16, device="cuda")
    b = tl.ones((4096, 1), dtype=np.float16, device="cuda")
    assert (a @ b).item() == 4096.0


@pytest.mark.parametrize("dtype", LOW, ids=str)
def test_autocast_training_on_the_gpu_follows_the_cpu(dtype):
    def train(device):
        tl.manual_seed(0)
        model = nn.Sequential(nn.Linear(20, 64), nn.GELU(), nn.Linear(64, 5)).to(device)
        opt = optim.Adam(model.parameters(), lr=1e-3)
        scaler = tl.amp.GradScaler()
        x = tl.tensor(np.random.default_rng(2).standard_normal((256, 20)), dtype=np.float32)
        x = x.to(device)
        labels = np.random.default_rng(3).integers(0, 5, 256)
        for _ in range(20):
            with tl.amp.autocast(device_type=device, dtype=dtype):
                loss = nn.functional.cross_entropy(model(x), labels)
            opt.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        return loss.item(), [p.dtype for p in model.parameters()]

    (cpu_loss, _), (gpu_loss, dtypes) = train("cpu"), train("cuda")
    assert all(d == np.float32 for d in dtypes)
    assert abs(gpu_loss - cpu_loss) < 0.02 * abs(cpu_loss)
