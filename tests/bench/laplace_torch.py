"""Curvature fits of LeNet-5 in PyTorch, timed for tests/bench/fits.ts (MIT, this project's own code).

Reads the network and images that fits.ts exported (--data DIR: weights as tfjs lays them out,
images NHWC, labels, and the tfjs logits of the first images as a check), builds LeNet-5 as
compute/models/zoo.ts defines it, and then answers fits.ts over stdin/stdout, one JSON line per
request, so that the two libraries' fits can be interleaved in one run:

  stdin  "exact diag"                -> stdout {"fit": "exact diag", "seconds": s, "summary": {...}}
  stdin  "warmup exact diag"         -> the same fit on the first 256 images, untimed by the caller

Two implementations:
  laplace-torch  laplace-torch's Laplace(...).fit with the BackPACK GGN backend (stochastic=True for
                 the Monte Carlo Fisher): diag, kron (as kfac) and last_layer (full); efb has no
                 counterpart there.
  pytorch        the same arithmetic written here with torch alone, the way BackPACK organises it:
                 one forward pass and one backward pass per batch carrying every label vector
                 (autograd.grad with is_grads_batched), per-example gradients from unfolded inputs,
                 and the last layer's closed form. Used where laplace-torch cannot be installed; its
                 exact-Fisher sums are printed so fits.ts can check they equal ours (same work).
--implementation auto takes laplace-torch when it imports, else pytorch.
"""

import argparse
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as functional
from torch import nn


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder fits.ts exported the network and images to")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--implementation", choices=["auto", "laplace-torch", "pytorch"], default="auto")
    return parser.parse_args()


def lenet5():
    """LeNet-5 of compute/models/zoo.ts: conv 6@5x5 valid ReLU, pool 2, conv 16@5x5 valid ReLU, pool 2, dense 120, 84, 10."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def load_weights(model, folder):
    """tfjs kernels in torch's layout: conv [kh, kw, in, out] -> [out, in, kh, kw], dense [in, out] -> [out, in].

    tfjs flattens the last pooled map in (h, w, c) order and torch in (c, h, w), so the first dense
    kernel's rows are reordered to keep the same function."""
    parameter_layers = [module for module in model if isinstance(module, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for index, module in enumerate(parameter_layers):
            kernel = np.load(f"{folder}/kernel{index}.npy")
            bias = np.load(f"{folder}/bias{index}.npy")
            if isinstance(module, nn.Conv2d):
                kernel = kernel.transpose(3, 2, 0, 1)
            else:
                if index == 2:
                    kernel = kernel.reshape(4, 4, 16, -1).transpose(2, 0, 1, 3).reshape(256, -1)
                kernel = kernel.T
            module.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel)))
            module.bias.copy_(torch.from_numpy(bias))


def load_data(folder):
    images = torch.from_numpy(np.load(f"{folder}/images.npy")).permute(0, 3, 1, 2).contiguous()
    labels = torch.from_numpy(np.load(f"{folder}/labels.npy").astype(np.int64))
    return images, labels


class PyTorchFits:
    """BackPACK's organisation of the fits, written with torch alone (see the module's docstring)."""

    def __init__(self, model, batch):
        self.model = model
        self.batch = batch
        self.layers = [module for module in model if isinstance(module, (nn.Conv2d, nn.Linear))]

    def forward(self, x):
        """Logits, each parameter layer's input (detached) and output (in the graph)."""
        inputs, outputs = [], []
        hidden = x
        for module in self.model:
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                inputs.append(hidden.detach())
                hidden = module(hidden)
                outputs.append(hidden)
            else:
                hidden = module(hidden)
        return hidden, inputs, outputs

    @staticmethod
    def vectors(probabilities, fisher, generator):
        """[S, N, C]: exact sqrt(p_c)(p - e_c) for every class c; mc p - e_y, y drawn from p."""
        classes = probabilities.shape[1]
        if fisher == "exact":
            identity = torch.eye(classes, dtype=probabilities.dtype)
            return probabilities.sqrt().T.unsqueeze(2) * (probabilities.unsqueeze(0) - identity.unsqueeze(1))
        drawn = torch.multinomial(probabilities, 1, generator=generator).squeeze(1)
        return (probabilities - functional.one_hot(drawn, classes).to(probabilities.dtype)).unsqueeze(0)

    @staticmethod
    def augmented(layer, a):
        """The layer input with a 1 appended: dense [N, in+1], conv [N, K+1, P] (unfolded patches)."""
        if isinstance(layer, nn.Conv2d):
            # Unfolded by a convolution with an identity filter, in unfold's (channel, row, column) order:
            # functional.unfold (im2col) took 0.4-1 s on a [128, 6, 12, 12] input with torch 2.13 here, the convolution 40 ms.
            width = a.shape[1] * layer.kernel_size[0] * layer.kernel_size[1]
            identity = torch.eye(width, dtype=a.dtype).reshape(width, a.shape[1], *layer.kernel_size)
            patches = functional.conv2d(a, identity).flatten(2)
            return torch.cat([patches, patches.new_ones(patches.shape[0], 1, patches.shape[2])], 1)
        return torch.cat([a, a.new_ones(a.shape[0], 1)], 1)

    def fit(self, images, labels, kind, fisher):
        if kind not in ("diag", "kfac", "efb", "last-layer") or fisher not in ("exact", "mc"):
            raise ValueError(f"no {fisher} {kind} fit here (exact or mc; diag, kfac, efb or last-layer)")
        generator = torch.Generator().manual_seed(7)
        count = images.shape[0]
        sums = {}

        def add(key, value):
            sums[key] = sums[key] + value if key in sums else value

        bases = None
        for sweep in range(2 if kind == "efb" else 1):
            for start in range(0, count, self.batch):
                x, y = images[start : start + self.batch], labels[start : start + self.batch]
                if kind == "last-layer":
                    self.last_layer_batch(x, y, fisher, generator, add)
                else:
                    # The loss is summed on the first sweep only, as ours.
                    self.backward_batch(x, y, kind if sweep == 0 else "efb-diagonal", fisher, generator, add if sweep == 0 else lambda key, value: key == "loss" or add(key, value), bases)
            if kind == "efb" and sweep == 0:
                bases = [
                    (torch.linalg.eigh(sums[f"A{index}"] / count).eigenvectors, torch.linalg.eigh(sums[f"G{index}"] / count).eigenvectors)
                    for index in range(len(self.layers))
                ]
        return {key: value / count for key, value in sums.items()}

    def last_layer_batch(self, x, y, fisher, generator, add):
        """One forward pass, then the closed form: the last layer's gradient for vector v is v outer its input."""
        with torch.no_grad():
            logits, inputs, _ = self.forward(x)
            add("loss", functional.cross_entropy(logits, y, reduction="sum"))
            probabilities = logits.softmax(1)
            features = self.augmented(self.layers[-1], inputs[-1])
            batch, rows = features.shape
            classes = probabilities.shape[1]
            if fisher == "exact":
                hessians = torch.diag_embed(probabilities) - probabilities.unsqueeze(2) * probabilities.unsqueeze(1)
                outer = (features.unsqueeze(2) * features.unsqueeze(1)).reshape(batch, rows * rows)
                kronecker = outer.T @ hessians.reshape(batch, classes * classes)
                add("L", kronecker.reshape(rows, rows, classes, classes).permute(0, 2, 1, 3).reshape(rows * classes, rows * classes))
            else:
                vector = self.vectors(probabilities, fisher, generator)[0]
                per_example = (features.unsqueeze(2) * vector.unsqueeze(1)).reshape(batch, rows * classes)
                add("L", per_example.T @ per_example)

    def backward_batch(self, x, y, kind, fisher, generator, add, bases):
        logits, inputs, outputs = self.forward(x)
        with torch.no_grad():
            add("loss", functional.cross_entropy(logits, y, reduction="sum"))
            vectors = self.vectors(logits.softmax(1), fisher, generator)
        sets = vectors.shape[0]
        if sets == 1:
            gradients = [gradient.unsqueeze(0) for gradient in torch.autograd.grad(logits, outputs, vectors[0])]
        else:
            gradients = torch.autograd.grad(logits, outputs, vectors, is_grads_batched=True)
        with torch.no_grad():
            for index, layer in enumerate(self.layers):
                a = self.augmented(layer, inputs[index])
                g = gradients[index]
                if isinstance(layer, nn.Conv2d):
                    g = g.reshape(sets, g.shape[1], g.shape[2], -1)  # [S, N, O, P]
                if kind == "kfac" or kind == "efb":
                    if isinstance(layer, nn.Conv2d):
                        add(f"A{index}", torch.einsum("nkp,nlp->kl", a, a) / a.shape[2])
                        add(f"G{index}", torch.einsum("snop,snqp->oq", g, g))
                    else:
                        rows = g.reshape(-1, g.shape[-1])
                        add(f"A{index}", a.T @ a)
                        add(f"G{index}", rows.T @ rows)
                elif kind == "diag":
                    if isinstance(layer, nn.Conv2d):
                        add(f"D{index}", torch.einsum("snop,nkp->snko", g, a).square().sum((0, 1)))
                    else:
                        add(f"D{index}", a.square().T @ g.square().sum(0))
                elif kind == "efb-diagonal":
                    qa, qg = bases[index]
                    if isinstance(layer, nn.Conv2d):
                        # Rotate the factors' sides first: Q_A^T (sum_p a_p g_p^T) Q_G = sum_p (Q_A^T a_p)(Q_G^T g_p)^T.
                        rotated = torch.einsum("snqp,nlp->snlq", torch.einsum("snop,oq->snqp", g, qg), torch.einsum("nkp,kl->nlp", a, qa))
                        add(f"E{index}", rotated.square().sum((0, 1)))
                    else:
                        add(f"E{index}", (a @ qa).square().T @ (g @ qg).square().sum(0))


def summary(sums):
    """Sums that do not depend on either library's layout: per diag layer its total, per Kronecker factor its trace, the last layer's trace."""
    result = {}
    for key, value in sums.items():
        if key[0] in "AGL":
            result[key] = float(torch.diagonal(value).sum())
        else:
            result[key] = float(value.sum())
    return result


def laplace_torch_fit(model, images, labels, kind, fisher, batch):
    from laplace import Laplace
    from laplace.curvature import BackPackGGN

    if kind not in ("diag", "kfac", "last-layer"):
        raise ValueError(f"laplace-torch has no {kind} fit")
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images, labels), batch_size=batch)
    laplace = Laplace(
        model,
        "classification",
        subset_of_weights="last_layer" if kind == "last-layer" else "all",
        hessian_structure={"diag": "diag", "kfac": "kron", "last-layer": "full"}[kind],
        backend=BackPackGGN,
        backend_kwargs={"stochastic": fisher == "mc"},
    )
    laplace.fit(loader)
    return {}


def main():
    arguments = parse_arguments()
    torch.set_num_threads(arguments.threads)
    torch.set_num_interop_threads(1)
    implementation = arguments.implementation
    versions = {"torch": torch.__version__}
    if implementation in ("auto", "laplace-torch"):
        try:
            import backpack
            import laplace

            versions["laplace-torch"] = getattr(laplace, "__version__", "?")
            versions["backpack"] = getattr(backpack, "__version__", "?")
            implementation = "laplace-torch"
        except ImportError as error:
            if implementation == "laplace-torch":
                sys.exit(f"laplace-torch or BackPACK does not import ({error}); install them, or pass --implementation pytorch.")
            implementation = "pytorch"
    model = lenet5()
    load_weights(model, arguments.data)
    model.eval()
    images, labels = load_data(arguments.data)
    with torch.no_grad():
        logits = model(images[:256])
    reference = torch.from_numpy(np.load(f"{arguments.data}/logits.npy"))
    check = float((logits - reference).abs().max() / reference.abs().max())
    print(json.dumps({"ready": True, "implementation": implementation, "versions": versions, "threads": torch.get_num_threads(), "logitsDifference": check}), flush=True)
    fits = PyTorchFits(model, arguments.batch)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        warmup = words[0] == "warmup"
        fisher, kind = words[1:] if warmup else words
        subset = (images[:256], labels[:256]) if warmup else (images, labels)
        try:
            started = time.perf_counter()
            if implementation == "laplace-torch":
                sums = laplace_torch_fit(model, *subset, kind, fisher, arguments.batch)
            else:
                sums = fits.fit(*subset, kind, fisher)
            seconds = time.perf_counter() - started
            print(json.dumps({"fit": f"{fisher} {kind}", "seconds": seconds, "summary": summary(sums)}), flush=True)
        except Exception as error:  # one unsupported fit is reported, not fatal to the others
            print(json.dumps({"fit": f"{fisher} {kind}", "error": f"{type(error).__name__}: {error}"}), flush=True)


if __name__ == "__main__":
    main()
