"""Metrics: hand-checkable statistics, the shipped digits classifier, scores that order real digits
before noise, constants and mode collapse, per-class accuracy, the protocol recorded with every
score, ``ganzoo eval``, and the Inception metrics' setup errors."""

from __future__ import annotations

import json
import math
import pickle
import shutil
import subprocess
import sys
import warnings
from types import SimpleNamespace

import pytest
import torch

import ganzoo
from ganzoo import CheckpointError, GanzooError, PluginError, UnknownNameError
from ganzoo.metrics import Metric, Score, evaluate, paired, stats
from ganzoo.metrics import digits_classifier as dc
from ganzoo.metrics.digits_classifier import sha256_of, shipped_folder

N = 300  # samples per set: enough to order the sets, small enough for a CPU


class ImagesModel:
    """A stand-in for a GAN that 'generates' rows of a fixed image tensor."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def generate(self, n, *, seed=None):
        picked = torch.randperm(len(self.images), generator=torch.Generator().manual_seed(seed))
        return self.images[picked.repeat(n // len(self.images) + 1)[:n]]


class ConditionalDigits(ganzoo.ConditionalGenerator):
    """A conditional model returning real test digits of the requested labels."""

    def __init__(self, test, *, obey: bool = True):
        super().__init__(SimpleNamespace(num_classes=10))
        self.test, self.obey = test, obey

    def generate(self, n, *, seed=None, labels=None):
        g = torch.Generator().manual_seed(seed)
        if not self.obey:  # ignores the labels: random digits
            return self.test.images[torch.randint(len(self.test), (n,), generator=g)]
        out = []
        for label in labels:
            pool = self.test.images[self.test.labels == label]
            out.append(pool[torch.randint(len(pool), (1,), generator=g)])
        return torch.cat(out)


@pytest.fixture(scope="module")
def digits():
    from ganzoo.data.configs import DigitsConfig
    from ganzoo.data.digits import build

    return {split: build(DigitsConfig(resolution=32), split) for split in ("train", "test")}


# -- pure statistics -------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["torchmetrics", "scipy"])
def test_frechet_distance_by_hand(method):
    # 1-D: means 0 and 3, unbiased variances 2 and 8: 3^2 + 2 + 8 - 2 sqrt(16) = 11.
    x = torch.tensor([[-1.0], [1.0]])
    y = torch.tensor([[1.0], [5.0]])
    assert stats.frechet_distance(x, y, method=method) == pytest.approx(11.0)
    # A shifted copy: equal covariances, so the distance is the squared shift.
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(200, 5, generator=g, dtype=torch.float64)
    shift = torch.tensor([1.0, -2.0, 0.0, 0.5, 3.0], dtype=torch.float64)
    assert stats.frechet_distance(feats, feats + shift, method=method) == pytest.approx(14.25)
    assert stats.frechet_distance(feats, feats, method=method) == pytest.approx(0.0, abs=1e-8)


def test_frechet_methods_agree_on_rank_deficient_covariances():
    g = torch.Generator().manual_seed(1)
    a = torch.relu(torch.randn(40, 64, generator=g))  # fewer samples than dimensions
    b = torch.relu(torch.randn(50, 64, generator=g) + 0.3)
    b[:, :10] = 0  # dead units
    assert stats.frechet_distance(a, b, method="scipy") == pytest.approx(
        stats.frechet_distance(a, b, method="torchmetrics"), rel=1e-6)
    with pytest.raises(ValueError, match="'auto', 'torchmetrics' or 'scipy', got 'eig'"):
        stats.frechet_distance(a, b, method="eig")


def test_torchmetrics_numbers_agree_with_the_hand_written_ones_they_replace(digits):
    """fd, kid, psnr and ssim moved to torchmetrics; the values below are what ganzoo's own code
    (commit 7d86701: scipy sqrtm, a batched MMD, a float64 conv SSIM) gave on the same samples.
    Measured differences: FD 2e-12 relative, KID 2e-14 (the subsets are the same: torchmetrics
    draws them with the global RNG seeded as ganzoo's generator was), PSNR 4.5e-8 (torchmetrics
    takes log(data_range) in float32), SSIM 0."""
    real = dc.features(digits["train"].images[:300]).double()
    fake = dc.features(digits["test"].images[:200]).double()
    noisy = dc.features((digits["test"].images[:200] + 0.5).clamp(-1, 1)).double()
    assert stats.frechet_distance(real, fake) == pytest.approx(12.923370316862133, rel=1e-9)
    assert stats.frechet_distance(real, noisy) == pytest.approx(136.37050474071953, rel=1e-9)
    mean, std = stats.kernel_distance(real, fake, subsets=20, subset_size=100, seed=5)
    assert (mean, std) == (pytest.approx(8.374313442799757, rel=1e-9),
                           pytest.approx(87.17787454282681, rel=1e-9))
    mean, std = stats.kernel_distance(real, noisy, subset_size=200)
    assert (mean, std) == (pytest.approx(1591.8965722258831, rel=1e-9),
                           pytest.approx(65.76304507496457, rel=1e-9))
    g = torch.Generator().manual_seed(0)
    a = torch.rand(4, 3, 24, 24, generator=g) * 2 - 1
    b = (a + 0.2 * torch.randn(a.shape, generator=g)).clamp(-1, 1)
    assert paired.psnr(b, a) == pytest.approx(20.422873305464073, rel=1e-7)
    assert paired.ssim(b, a) == pytest.approx(0.7496163509198762, abs=1e-12)
    assert paired.ssim(b[:, :1] * 127.5, a[:, :1] * 127.5, data_range=255.0) == pytest.approx(
        0.7382539284556608, abs=1e-12)  # the SR protocol's peak
    # torchmetrics' own mean includes the reflection-padded border: not the paper's protocol.
    from torchmetrics.functional.image import structural_similarity_index_measure

    assert float(structural_similarity_index_measure(b.double(), a.double(), data_range=2.0)) \
        == pytest.approx(0.7388876689125129, abs=1e-9)


def test_kid_by_hand():
    # k(x, y) = (xy + 1)^3 in 1-D. X = {0, 1}, Y = {0, 2}: off-diagonal means k(0,1) = 1 and
    # k(0,2) = 1; cross mean (1 + 1 + 1 + 27) / 4 = 7.5; MMD^2 = 1 + 1 - 2 * 7.5 = -13.
    x, y = torch.tensor([[0.0], [1.0]]), torch.tensor([[0.0], [2.0]])
    mean, std = stats.kernel_distance(x, y, subsets=3, subset_size=2)
    assert (mean, std) == (pytest.approx(-13.0), pytest.approx(0.0))
    g = torch.Generator().manual_seed(0)
    same = torch.randn(400, 8, generator=g)
    near, _ = stats.kernel_distance(same[:200], same[200:], subsets=10)
    far, _ = stats.kernel_distance(same[:200], same[200:] + 2, subsets=10)
    assert abs(near) < 0.05 * far
    # Random subsets of 100: unbiased, so their mean estimates the full-set value.
    sub, spread = stats.kernel_distance(same[:200], same[200:] + 2, subsets=50, subset_size=100)
    assert spread > 0 and sub == pytest.approx(far, rel=0.1)


def test_precision_recall_by_hand():
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    # k=1: every real ball has radius 1; the fake ball radius is their distance, 9.5.
    assert stats.precision_recall(real, torch.tensor([[0.5], [10.0]]), k=1) == (0.5, 1.0)
    # k=3: radii 3, 2, 2, 3 around 0..3, so 6.0 is just inside the ball of 3.0, 6.1 is not.
    fakes = torch.tensor([[6.0], [6.0], [6.0], [6.0]])
    assert stats.precision_recall(real, fakes, k=3)[0] == 1.0
    assert stats.precision_recall(real, fakes + 0.1, k=3)[0] == 0.0


def test_paired_metrics_by_hand():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 16, 16, generator=g) * 2 - 1
    assert paired.l1(x, x) == 0 and paired.psnr(x, x) == math.inf and paired.ssim(x, x) == 1
    zeros, fifths = torch.zeros(2, 1, 16, 16), torch.full((2, 1, 16, 16), 0.2)
    assert paired.l1(zeros, fifths) == pytest.approx(0.2)
    assert paired.psnr(zeros, fifths) == pytest.approx(20.0)  # 10 log10(2^2 / 0.04)
    # Constant images: no variance, so SSIM = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1).
    c1 = (0.01 * 2) ** 2
    assert paired.ssim(zeros, fifths + 0.3) == pytest.approx(c1 / (0.25 + c1))
    with pytest.raises(ValueError, match="one shape"):
        paired.l1(zeros, x)


def test_ssim_matches_scikit_image():
    metrics = pytest.importorskip("skimage.metrics")
    g = torch.Generator().manual_seed(0)
    a = torch.rand(1, 1, 24, 24, generator=g) * 2 - 1
    b = (a + 0.3 * torch.randn(1, 1, 24, 24, generator=g)).clamp(-1, 1)
    expected = metrics.structural_similarity(
        a[0, 0].double().numpy(), b[0, 0].double().numpy(), gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, data_range=2.0)
    assert paired.ssim(a, b) == pytest.approx(expected, abs=1e-6)


@pytest.mark.filterwarnings("ignore:.*save all extracted features:UserWarning")
def test_the_digits_classifier_is_torchmetrics_custom_feature_extractor(digits):
    """fd-digits and kid-digits are torchmetrics' FID and KID with the classifier as `feature`."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    real = digits["train"].images
    fake = digits["test"].images[:200]
    scores = evaluate(ImagesModel(fake), ["fd-digits", "kid-digits"], n=200, seed=0)
    picked = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:200]]
    fid = FrechetInceptionDistance(feature=dc.feature_extractor())
    kid = KernelInceptionDistance(feature=dc.feature_extractor(), subset_size=200, subsets=1)
    generated = ImagesModel(fake).generate(200, seed=0)
    for metric in (fid, kid):
        metric.update(picked, real=True)
        metric.update(generated, real=False)
    # torchmetrics returns FID in its features' dtype (float32 here), KID in float32 too.
    assert float(fid.compute()) == pytest.approx(scores["fd-digits"].value, rel=1e-5)
    assert float(kid.compute()[0]) == pytest.approx(scores["kid-digits"].value, rel=1e-4)


# -- the shipped classifier ------------------------------------------------------------------------
def test_shipped_classifier_hash_and_test_accuracy(digits):
    config = dc.classifier_config()
    assert sha256_of(shipped_folder() / dc.WEIGHTS_NAME) == config["sha256"]
    assert config["test_accuracy"] >= 0.97
    test = digits["test"]
    measured = dc.accuracy(dc.load_classifier(), test.images, test.labels)
    assert measured >= 0.97 and measured == pytest.approx(config["test_accuracy"], abs=1 / 360)
    # Other resolutions and RGB are brought to the classifier's input; predictions survive.
    rgb64 = torch.nn.functional.interpolate(test.images, size=64, mode="bilinear")
    rgb64 = rgb64.repeat(1, 3, 1, 1)
    assert (dc.predict(rgb64).argmax(1) == test.labels).double().mean() >= 0.95
    assert dc.features(test.images[:5]).shape == (5, config["architecture"]["feature_dim"])


def test_tampered_classifier_weights_are_refused(tmp_path):
    folder = tmp_path / "classifier"
    shutil.copytree(shipped_folder(), folder)
    data = bytearray((folder / dc.WEIGHTS_NAME).read_bytes())
    data[-1] ^= 0xFF
    (folder / dc.WEIGHTS_NAME).write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256 .* does not match"):
        dc.load_classifier(folder)


# -- scores on the digits --------------------------------------------------------------------------
def test_real_digits_score_far_better_than_noise_constants_and_collapse(digits):
    test = digits["test"].images
    g = torch.Generator().manual_seed(0)
    sets = {
        "real-test": test,
        "noise": torch.rand(N, 1, 32, 32, generator=g) * 2 - 1,
        "constant": torch.zeros(N, 1, 32, 32),
        "one-image": test[:1].repeat(N, 1, 1, 1),
        "only-threes": test[digits["test"].labels == 3],
    }
    scores = {name: evaluate(ImagesModel(images), ["fd-digits", "kid-digits"], n=N)
              for name, images in sets.items()}
    fd = {name: s["fd-digits"].value for name, s in scores.items()}
    kid = {name: s["kid-digits"].value for name, s in scores.items()}
    others = [name for name in sets if name != "real-test"]
    assert all(math.isfinite(v) for v in fd.values()), fd
    assert fd["real-test"] * 10 < min(fd[o] for o in others), fd
    assert kid["real-test"] < 0.05 * min(kid[o] for o in others), kid
    assert fd["one-image"] > fd["only-threes"], "one repeated image is a worse collapse"


def test_every_score_records_its_protocol(digits):
    scores = evaluate(ImagesModel(digits["test"].images), ["fd-digits", "kid-digits",
                                                           "precision-digits", "recall-digits"],
                      n=200, seed=7)
    sha = dc.classifier_config()["sha256"]
    for name, score in scores.items():
        p = score.protocol
        assert score.name == name and isinstance(score, Score)
        assert (p.n_real, p.n_fake, p.seed) == (200, 200, 7)
        assert p.extractor == "digits-classifier" and p.extractor_sha256 == sha
        assert "bilinear" in p.resizer and "digits train split" in p.real_data
    assert scores["kid-digits"].protocol.extra["subset_size"] == 200
    assert scores["precision-digits"].protocol.extra["k"] == 3
    assert 0.8 < scores["precision-digits"].value <= 1 and 0.8 < scores["recall-digits"].value <= 1
    again = evaluate(ImagesModel(digits["test"].images), ["fd-digits"], n=200, seed=7)
    assert again["fd-digits"] == scores["fd-digits"], "same seed, same score"


def test_class_accuracy_of_a_conditional_model(digits):
    obeys = evaluate(ConditionalDigits(digits["test"]), ["accuracy"], n=N)["accuracy"]
    assert obeys.value >= 0.97
    assert sorted(obeys.details["per_class"], key=int) == [str(c) for c in range(10)]
    assert obeys.protocol.n_fake == N and obeys.protocol.extra["num_classes"] == 10
    ignores = evaluate(ConditionalDigits(digits["test"], obey=False), ["accuracy"], n=N)
    assert abs(ignores["accuracy"].value - 0.1) < 0.07  # chance
    with pytest.raises(GanzooError, match="needs a conditional model"):
        evaluate(ImagesModel(digits["test"].images), ["accuracy"], n=10)


def test_packaged_dcgan_scores_far_better_than_noise():
    model = ganzoo.load("dcgan-digits")
    model.train()
    dcgan = evaluate(model, ["fd-digits"], n=N)["fd-digits"].value
    assert model.training, "evaluate puts the model back in training mode"
    noise = evaluate(ImagesModel(torch.rand(N, 1, 32, 32) * 2 - 1), ["fd-digits"], n=N)
    assert math.isfinite(dcgan) and dcgan * 5 < noise["fd-digits"].value


def test_images_are_generated_in_seeded_chunks(digits, monkeypatch):
    from ganzoo.metrics import base

    monkeypatch.setattr(base, "GENERATE_BATCH", 64)
    calls = []

    class Counting(ImagesModel):
        def generate(self, n, *, seed=None):
            calls.append((n, seed))
            return super().generate(n, seed=seed)

    score = evaluate(Counting(digits["test"].images), ["fd-digits", "kid-digits"], n=150)
    assert [n for n, _ in calls] == [64, 64, 22], "generated once, shared by both metrics"
    assert len({s for _, s in calls}) == 3 and score["fd-digits"].protocol.n_fake == 150


# -- the registry and third-party metrics ----------------------------------------------------------
def test_unknown_names_fail_before_anything_is_generated():
    class Exploding:
        def generate(self, n, *, seed=None):
            raise AssertionError("generated before the names were checked")

    with pytest.raises(UnknownNameError, match="Did you mean 'kid-digits'"):
        evaluate(Exploding(), ["fd-digits", "kid-digit"], n=10)


class ConstantMetric(Metric):
    name = "constant"

    def compute(self, model, *, n, seed, device):
        return self.score(42.0, self.protocol(n_real=0, n_fake=n, seed=seed))


def test_a_plugin_metric_goes_through_evaluate(ganzoo_plugins):
    class Plugin:
        @ganzoo.hookimpl
        def register_metrics(self, registry):
            registry.add(name="always-42", compute=f"{__name__}:ConstantMetric")
            registry.add(name="not-a-metric", compute="builtins:dict")

    ganzoo_plugins.register_plugin(Plugin(), "test-metrics")
    score = evaluate(ImagesModel(torch.zeros(2, 1, 8, 8)), ["always-42"], n=3, seed=5)["always-42"]
    assert score.name == "always-42" and score.value == 42.0
    assert (score.protocol.n_fake, score.protocol.seed, score.protocol.extractor) == (3, 5, "")
    with pytest.raises(PluginError, match="must be a ganzoo.metrics.Metric"):
        evaluate(ImagesModel(torch.zeros(2, 1, 8, 8)), ["not-a-metric"], n=3)


def test_importing_metrics_does_not_import_torch():
    code = ("import sys, ganzoo.metrics, ganzoo.plugin.manager as p;"
            "names = p.registry('metrics').names();"
            "assert {'fd-digits', 'kid-digits', 'accuracy', 'fid'} <= set(names), names;"
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- ganzoo eval -----------------------------------------------------------------------------------
def test_eval_command_prints_scores_with_their_protocol(cli):
    result = cli("eval", "dcgan-digits", "--metrics", "fd-digits,kid-digits", "-n", "200", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["model"] == "dcgan-digits" and set(data["scores"]) == {"fd-digits", "kid-digits"}
    for name, score in data["scores"].items():
        assert score["name"] == name and math.isfinite(score["value"])
        protocol = score["protocol"]
        assert {"n_real", "n_fake", "extractor", "extractor_sha256", "resizer", "seed",
                "real_data", "extra"} <= set(protocol)
        assert (protocol["n_real"], protocol["n_fake"], protocol["seed"]) == (200, 200, 0)
        assert protocol["extractor_sha256"] == sha256_of(shipped_folder() / dc.WEIGHTS_NAME)
    table = cli("eval", "dcgan-digits", "--metrics", "fd-digits", "-n", "100")
    assert table.exit_code == 0 and table.output.splitlines()[1].split()[:1] == ["fd-digits"]
    assert "100/100" in table.output


def test_eval_command_errors_are_one_line(cli):
    result = cli("eval", "dcgan-digits", "--metrics", "fd-digts")
    assert result.exit_code == 1
    assert result.output.startswith("ganzoo: no metric named 'fd-digts'. Did you mean 'fd-digits'?")
    result = cli("eval", "dcgan-digits", "--metrics", "accuracy", "-n", "10")
    assert result.exit_code == 1 and "needs a conditional model" in result.output


# -- the Inception metrics -------------------------------------------------------------------------
def test_fid_without_weights_names_the_variable(monkeypatch, cli):
    monkeypatch.delenv("GANZOO_INCEPTION_WEIGHTS", raising=False)
    model = ImagesModel(torch.zeros(4, 1, 32, 32))
    with pytest.raises(GanzooError, match="set GANZOO_INCEPTION_WEIGHTS=.*weights-inception-2015"):
        evaluate(model, ["fid"], n=4)
    result = cli("eval", "dcgan-digits", "--metrics", "kid", "-n", "10")
    assert result.exit_code == 1 and "GANZOO_INCEPTION_WEIGHTS" in result.output


def test_fid_weights_file_errors(monkeypatch, tmp_path):
    model = ImagesModel(torch.zeros(4, 1, 32, 32))
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(tmp_path / "missing.pth"))
    with pytest.raises(GanzooError, match="missing.pth: no such file"):
        evaluate(model, ["fid"], n=4)
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as fh:  # unpickling this would run code
        pickle.dump(SimpleNamespace(x=1), fh, protocol=2)
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(evil))
    with pytest.warns(UserWarning, match="not be comparable"), \
            pytest.raises(GanzooError, match="not a PyTorch state dict of plain tensors"):
        evaluate(model, ["fid"], n=4)
    plain = tmp_path / "plain.pth"
    torch.save({"w": torch.zeros(1)}, plain)
    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(plain))
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # not installed
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", None)
    with pytest.warns(UserWarning), pytest.raises(GanzooError, match="pip install torch-fidelity"):
        evaluate(model, ["fid"], n=4)


@pytest.fixture(scope="module")
def random_inception(tmp_path_factory):
    """torch-fidelity's Inception with random weights, saved in its format: the real network and
    file handling, offline (the numbers mean nothing)."""
    tfe = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
    with pytest.MonkeyPatch.context() as patch:  # build the module without fetching weights
        patch.setattr(tfe, "load_state_dict_from_url", lambda *a, **k: None)
        patch.setattr(tfe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
        torch.manual_seed(0)
        net = tfe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    weights = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(net.state_dict(), weights)
    return weights


@pytest.mark.slow
def test_inception_metrics_record_their_resize_protocol(monkeypatch, random_inception, digits):
    """kid (TF1 bilinear), kid-clean (PIL bicubic) and kid-torchmetrics (antialiased bilinear):
    each score records its resize; the same images through the same network give different
    features under each. (KID, not FID: the statistics are tested on the digits features, and
    torchmetrics' eigvals of a 2048x2048 product takes many seconds on a shared CPU.)"""
    from ganzoo.metrics.inception import RESIZES, InceptionFeatures

    monkeypatch.setenv("GANZOO_INCEPTION_WEIGHTS", str(random_inception))
    names = ["kid", "kid-clean", "kid-torchmetrics"]
    images = digits["test"].images[:2]
    with pytest.warns(UserWarning, match="not be comparable"):
        scores = evaluate(ImagesModel(images), names, n=2)
    resizes = {name: scores[name].protocol.extra["resize"] for name in names}
    assert resizes == {"kid": "tf1-bilinear", "kid-clean": "clean-fid-pil-bicubic",
                       "kid-torchmetrics": "torchmetrics-bilinear-aa"}
    assert all(math.isfinite(s.value) for s in scores.values())
    assert scores["kid"].protocol.extra["subset_size"] == 2
    for name in names:
        protocol = scores[name].protocol
        assert protocol.extractor_sha256 == sha256_of(random_inception)
        assert protocol.extra["feature_dim"] == 2048 and "299" in protocol.resizer
    assert "PIL bicubic" in scores["kid-clean"].protocol.resizer
    warnings.simplefilter("ignore", UserWarning)  # the random file's hash, as above
    features = {r: InceptionFeatures(r).extract(images[:1], "cpu") for r in RESIZES}
    tf1, aa, clean = features.values()
    assert tf1.shape == (1, 2048)
    def differ(a, b):  # random weights: features near 1e-8, so compare relative to their size
        return float((a - b).abs().max()) > 1e-3 * float(a.abs().max())

    assert differ(tf1, aa) and differ(tf1, clean) and differ(aa, clean)
    assert not differ(tf1, InceptionFeatures("tf1-bilinear").extract(images[:1], "cpu"))
    with pytest.raises(GanzooError, match="resize 'bicubic': expected one of tf1-bilinear, "):
        InceptionFeatures("bicubic")
    json.dumps([s.to_dict() for s in scores.values()])  # the eval JSON can hold them


@pytest.mark.slow
def test_clean_fid_path_runs_torch_fidelitys_network_past_its_resize(random_inception):
    """pool3() is torch-fidelity's forward after its resize: on TF1-resized pixels it gives
    torch-fidelity's own features; PIL's float-mode bicubic keeps values off the uint8 grid."""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    from ganzoo.metrics import inception

    net = inception._build("torch-fidelity", random_inception, str(random_inception))
    g = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (2, 3, 32, 32), generator=g, dtype=torch.uint8)
    resized = interpolate_bilinear_2d_like_tensorflow1x(pixels.float(), size=(299, 299),
                                                        align_corners=False)
    with torch.no_grad():
        assert torch.allclose(inception.pool3(net, resized), net(pixels)[0], atol=1e-5)
    bicubic = inception.resize_pil_bicubic(pixels[:, :1])
    assert bicubic.shape == (2, 3, 299, 299) and 0 <= bicubic.min() and bicubic.max() <= 255
    assert (bicubic != bicubic.round()).any()  # float mode: not quantised after resizing
    assert torch.equal(inception.resize_pil_bicubic(torch.full((1, 1, 8, 8), 77, dtype=torch.uint8)),
                       torch.full((1, 3, 299, 299), 77.0))


class HeldOutCount:
    """A metric that needs ground truth: it reports how many held-out items it was given."""

    from ganzoo.metrics.base import Metric as _Base

    class Impl(_Base):
        name = "held-out-count"
        needs_data = True

        def compute(self, model, *, n, seed, device, data):
            return Score(name=self.name, value=len(data),
                         protocol=self.protocol(n_real=len(data), n_fake=0, seed=seed))


def test_metrics_that_need_held_out_data_get_it_or_say_so(ganzoo_plugins):
    class Plugin:
        @ganzoo.hookimpl
        def register_metrics(self, registry):
            registry.add(name="held-out-count", compute=f"{__name__}:HeldOutCount.Impl")

    ganzoo_plugins.register_plugin(Plugin(), "held-out")
    model = ganzoo.load("dcgan-digits")
    with pytest.raises(ganzoo.GanzooError, match="'held-out-count' compares with held-out "
                                                 "ground truth: give data="):
        evaluate(model, ["held-out-count"], n=4)
    assert evaluate(model, ["held-out-count"], n=4, data=list(range(7)))["held-out-count"].value == 7


# -- LPIPS on a user-provided backbone -------------------------------------------------------------
class Shift(ganzoo.Translator):
    """A stand-in translator: adds ``offset`` to its input."""

    architecture = "shift"

    def __init__(self, offset: float):
        super().__init__(None)
        self.offset = offset
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def translate(self, images, direction=None):
        return (images + self.offset).clamp(-1, 1)


@pytest.fixture(scope="module")
def random_alexnet(tmp_path_factory):
    """torchvision's AlexNet feature tensors, exactly its names and shapes, random values."""
    import torchvision

    with torch.device("meta"):  # shapes without building (or initialising) the real network
        shapes = {k: v.shape for k, v in torchvision.models.alexnet().state_dict().items()}
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(shape, generator=g) * 0.05 for k, shape in shapes.items()
             if k.startswith("features.")}
    path = tmp_path_factory.mktemp("lpips") / "alexnet-random.pth"
    torch.save(state, path)
    return path, state


def test_lpips_on_a_user_backbone_through_evaluate(monkeypatch, random_alexnet):
    path, _ = random_alexnet
    monkeypatch.setenv("GANZOO_LPIPS_BACKBONE", str(path))
    g = torch.Generator().manual_seed(0)
    targets = torch.rand(5, 3, 32, 32, generator=g) * 2 - 1
    data = [{"source": t, "target": t} for t in targets]
    same = evaluate(Shift(0.0), ["lpips"], data=data, n=5)["lpips"]
    assert same.value == pytest.approx(0.0, abs=1e-6)
    near, far = (evaluate(Shift(offset), ["lpips"], data=data, n=5)["lpips"]
                 for offset in (0.1, 0.6))
    assert 0 < near.value < far.value and far.details["identity"] == pytest.approx(0, abs=1e-6)
    protocol = far.protocol
    assert protocol.extractor_sha256 == sha256_of(path) and "alexnet" in protocol.extractor
    assert protocol.extra["backbone"] == "alex" and len(protocol.extra["linear_heads_sha256"]) == 64
    assert protocol.n_real == 5
    gray = [{"source": t[:1], "target": t[:1]} for t in targets]  # gray is repeated to RGB
    assert evaluate(Shift(0.3), ["lpips"], data=gray, n=5)["lpips"].value > 0
    small = [{"source": t[:, :16, :16], "target": t[:, :16, :16]} for t in targets]
    with pytest.raises(GanzooError, match="alex backbone needs images of at least 31x31"):
        evaluate(Shift(0.3), ["lpips"], data=small, n=5)


def test_lpips_backbone_file_errors(monkeypatch, tmp_path, random_alexnet):
    _, state = random_alexnet
    data = [{"source": torch.zeros(3, 32, 32), "target": torch.zeros(3, 32, 32)}] * 2

    def error(value) -> str:
        monkeypatch.setenv("GANZOO_LPIPS_BACKBONE", str(value))
        with pytest.raises(GanzooError) as info:
            evaluate(Shift(0.0), ["lpips"], data=data, n=2)
        assert "\n" not in str(info.value)
        return str(info.value)

    monkeypatch.delenv("GANZOO_LPIPS_BACKBONE", raising=False)
    with pytest.raises(GanzooError, match="set GANZOO_LPIPS_BACKBONE=.*alexnet-owt-7be5be79.pth"):
        evaluate(Shift(0.0), ["lpips"], data=data, n=2)
    assert "missing.pth: no such file" in error(tmp_path / "missing.pth")
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as fh:  # unpickling this would run code
        pickle.dump(SimpleNamespace(x=1), fh, protocol=2)
    assert "not a PyTorch state dict of plain tensors" in error(evil)

    def saved(name, tensors):
        torch.save(tensors, tmp_path / name)
        return tmp_path / name

    reshaped = {**state, "features.3.weight": torch.zeros(192, 64, 3, 3)}
    assert "features.3.weight has shape [192, 64, 3, 3], torchvision's alexnet has " \
           "[192, 64, 5, 5]" in error(saved("reshaped.pth", reshaped))
    missing = {k: v for k, v in state.items() if k != "features.8.bias"}
    assert "no key 'features.8.bias'" in error(saved("missing-key.pth", missing))
    stray = {**state, "fc.weight": torch.zeros(2, 2)}
    assert "unexpected key 'fc.weight'" in error(saved("stray.pth", stray))
    other = {"features.0.weight": torch.zeros(8, 3, 7, 7)}
    assert "features.0.weight of shape [8, 3, 7, 7]; expected torchvision's alexnet" in error(
        saved("other.pth", other))
