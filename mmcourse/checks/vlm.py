"""Checks for chapter 03's exercises: the projector, the splice, the chat prompt, VQA scoring."""

from __future__ import annotations

import torch

from .. import chat
from ..data.instructions import IGNORE_INDEX
from ..metrics import vqa
from ..models.vlm import Projector, splice_image_features
from ._util import call, expect_float, expect_tensor, generator, require_callable
from .registry import register


@register("vlm.projector")
def check_projector(cls) -> None:
    """``cls(vision_dim, hidden_size)`` -> an nn.Module, Linear -> GELU -> Linear, named like LLaVA's."""
    require_callable(cls, "projector")
    g = generator(31)
    for dv, d in [(64, 128), (1024, 32)]:
        mine = cls(dv, d)
        assert isinstance(mine, torch.nn.Module), "your projector must be a torch.nn.Module"
        # torch.nn.Module's own methods, not ones the class may have redefined
        n = sum(p.numel() for p in torch.nn.Module.parameters(mine))
        want_n = dv * d + d + d * d + d
        assert n == want_n, (f"Projector({dv}, {d}) has {n} parameters; LLaVA-1.5's mlp2x_gelu has "
                             f"{dv}x{d}+{d} + {d}x{d}+{d} = {want_n}")
        ref = Projector(dv, d)
        try:
            ref.load_state_dict(torch.nn.Module.state_dict(mine))
        except RuntimeError as err:
            raise AssertionError("name the layers linear_1 and linear_2 (as transformers' "
                                 "LlavaMultiModalProjector), so weights load across") from err
        x = torch.randn(2, 5, dv, generator=g)
        out = expect_tensor(call(mine, x, what=f"Projector({dv}, {d})(x)"), "the projector's output", shape=(2, 5, d))
        if torch.allclose(out, ref.linear_2(ref.linear_1(x)), atol=1e-5):
            raise AssertionError("no non-linearity: put a GELU between the two Linear layers")
        assert torch.allclose(out, ref(x), atol=1e-5), "expected linear_2(gelu(linear_1(x)))"


@register("vlm.splice")
def check_splice(fn) -> None:
    """``fn(embeds, input_ids, image_features, image_token_id, labels) -> (embeds, labels)``."""
    require_callable(fn, "splice")
    g = generator(32)
    for B, T, N, D, pos in [(1, 5, 3, 4, [1]), (3, 7, 4, 8, [0, 3, 6]), (2, 6, 16, 2, [2, 2])]:
        ids = torch.randint(5, 50, (B, T), generator=g)
        for b, p in enumerate(pos):
            ids[b, p] = 4
        embeds = torch.randn(B, T, D, generator=g)
        labels = torch.randint(5, 50, (B, T), generator=g)
        feats = torch.randn(B, N, D, generator=g)
        got = call(fn, embeds.clone(), ids.clone(), feats.clone(), 4, labels.clone(), what="splice(...)")
        assert isinstance(got, tuple) and len(got) == 2, "return a tuple (embeds, labels)"
        ge, gl = (expect_tensor(t, f"splice(...)[{i}]") for i, t in enumerate(got))
        we, wl, _ = splice_image_features(embeds, ids, feats, 4, labels)
        want_shape = (B, T - 1 + N, D)
        assert tuple(ge.shape) == want_shape, (f"each <image> token becomes {N} features: expected embeds of shape "
                                               f"{want_shape}; got {tuple(ge.shape)}")
        assert torch.allclose(ge, we), ("embeds differ: keep the text before the <image> token, then the image's "
                                        "features, then the text after it")
        assert tuple(gl.shape) == (B, T - 1 + N), f"labels must have shape {(B, T - 1 + N)}; got {tuple(gl.shape)}"
        if not (gl == IGNORE_INDEX).any():
            raise AssertionError(f"the image positions need label IGNORE_INDEX ({IGNORE_INDEX}): the model "
                                 "is not asked to predict image features")
        assert torch.equal(gl.long(), wl), "labels differ: text labels keep their place, image positions get -100"


@register("vlm.chat_prompt")
def check_chat_prompt(fn) -> None:
    """``fn(messages, add_generation_prompt) -> str`` equal to the processor's chat template."""
    require_callable(fn, "build_prompt")
    convs = [
        ([chat.user("what colour is the circle?")], True),
        ([chat.user("what colour is the circle?"), chat.assistant("red")], False),
        ([chat.user("how many objects are there?"), chat.assistant("3"),
          chat.user("where is the red square?", image=False)], True),
        ([chat.user("describe the image.", image=False), chat.assistant("a blue cross")], False),
    ]
    tok = chat.make_tokenizer(["what colour is the circle? how many objects where red square blue cross 3"])
    for messages, gen in convs:
        want = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
        got = call(fn, messages, gen, what="build_prompt(messages, add_generation_prompt)")
        assert isinstance(got, str), f"return a string; got {type(got).__name__}"
        assert got == want, f"for {len(messages)} message(s), add_generation_prompt={gen}:\n  you: {got!r}\n  want: {want!r}"


@register("vlm.vqa_exact_match")
def check_vqa_exact_match(fn) -> None:
    """``fn(predictions, answers) -> float`` after VQA normalisation (case, punctuation, articles, numbers)."""
    require_callable(fn, "exact_match")
    cases = [
        (["red", "blue"], ["red", "green"], 0.5),
        (["Red.", "the circle", "two", "Yes!"], ["red", "circle", "2", "yes"], 1.0),
        (["top left", "an orange"], ["top  left", "orange"], 1.0),
        (["3", "no"], ["4", "yes"], 0.0),
    ]
    for preds, answers, want in cases:
        got = expect_float(call(fn, list(preds), list(answers), what="exact_match(...)"), "exact_match")
        assert abs(got - want) < 1e-9, (f"exact_match({preds}, {answers}) = {got}; expected {want} "
                                        "(lower-case, drop punctuation and a/an/the, 'two' -> '2')")
        assert abs(got - vqa.exact_match(preds, answers)) < 1e-9
