# PyTorch side of bench/models.mjs: ResNet18 (64x64, batch 16) and ResNet50 (64x64, batch 8)
# training steps built like Keel's (Keras') ResNets, float32 and bfloat16 autocast, 2 threads, in
# channels_last and NCHW (the faster is the peer).
# Prints one JSON line. Run: /usr/bin/python3 bench/torch_models.py [--quick]
import json, sys
import torch
import torch.nn as nn

from torch_bench import measure_interleaved  # the timing Keel's side uses (bench/common.mjs)

torch.set_num_threads(2)
quick = '--quick' in sys.argv
LAYOUTS = {'channels_last': torch.channels_last, 'nchw': torch.contiguous_format}


def conv_bn(cin, cout, k, s=1, p=0):
    return [nn.Conv2d(cin, cout, k, s, p, bias=True), nn.BatchNorm2d(cout, eps=1.001e-5)]


class Bottleneck(nn.Module):
    def __init__(self, cin, f, stride, shortcut):
        super().__init__()
        self.short = nn.Sequential(*conv_bn(cin, 4 * f, 1, stride)) if shortcut else None
        self.body = nn.Sequential(*conv_bn(cin, f, 1, stride), nn.ReLU(), *conv_bn(f, f, 3, 1, 1), nn.ReLU(), *conv_bn(f, 4 * f, 1))

    def forward(self, x):
        return torch.relu((self.short(x) if self.short is not None else x) + self.body(x))


class Basic(nn.Module):
    def __init__(self, cin, f, stride, shortcut):
        super().__init__()
        self.short = nn.Sequential(*conv_bn(cin, f, 1, stride)) if shortcut else None
        self.body = nn.Sequential(*conv_bn(cin, f, 3, stride, 1), nn.ReLU(), *conv_bn(f, f, 3, 1, 1))

    def forward(self, x):
        return torch.relu((self.short(x) if self.short is not None else x) + self.body(x))


def resnet(kind, classes=5):
    layers = [*conv_bn(3, 64, 7, 2, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    if kind == 50:
        for f, n in [(64, 3), (128, 4), (256, 6), (512, 3)]:
            for i in range(n):
                layers.append(Bottleneck(cin, f, (1 if f == 64 else 2) if i == 0 else 1, i == 0))
                cin = 4 * f
    else:
        for f in [64, 128, 256, 512]:
            for i in range(2):
                stride = (1 if f == 64 else 2) if i == 0 else 1
                layers.append(Basic(cin, f, stride, stride != 1))
                cin = f
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def make_step(kind, batch, dtype, fmt):
    torch.manual_seed(0)
    model = resnet(kind).to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.randn(batch, 3, 64, 64).to(memory_format=fmt)
    y = torch.arange(batch) % 5

    def step():
        opt.zero_grad()
        if dtype == 'bfloat16':
            with torch.autocast('cpu', dtype=torch.bfloat16):
                loss = nn.functional.cross_entropy(model(x).float(), y)
        else:
            loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


out = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'results': []}
for kind, batch in [(18, 16)] + ([] if quick else [(50, 8)]):
    # every (dtype, layout) of one model built, warmed up as bench/models.mjs warms Keel's ResNets,
    # then timed interleaved (rounds of steps per case in turn), as Keel's cases are
    cases = [(d, name, make_step(kind, batch, d, fmt)) for d in ['float32', 'bfloat16'] for name, fmt in LAYOUTS.items()]
    timed = measure_interleaved([step for _, _, step in cases], 1 if quick else 15, 1 if quick else 3, 1 if quick else 2)
    times = {(d, name): m['ms'] for (d, name, _), m in zip(cases, timed)}
    for dtype in ['float32', 'bfloat16']:
        # the peer is PyTorch's faster memory layout (both kept)
        per = {name: times[(dtype, name)] for name in LAYOUTS}
        best = min(per, key=per.get)
        out['results'].append({'model': f'resnet{kind}', 'batch': batch, 'dtype': dtype, 'ms': per[best], 'layout': best, 'layouts': per})
print(json.dumps(out))
