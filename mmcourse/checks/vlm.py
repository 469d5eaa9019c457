"""Checks for chapter 03's exercises: the projector, the splice, the chat prompt, VQA scoring."""

from __future__ import annotations

import torch

from .. import chat
from ..data.instructions import IGNORE_INDEX
from ..metrics import vqa
from ..models.vlm import Projector, splice_image_features
from ._util import call, expect_float, expect_tensor, generator, require_callable
from .registry import register


@register("vlm.projector", returns_model=True)
def check_projector(cls) -> None:
    """``cls(vision_dim, hidden_size)`` -> an nn.Module, Linear -> GELU -> Linear, named like LLaVA's."""
    require_callable(cls, "projector")
    g = generator(31)
    for dv, d in [(64, 128), (1024, 32)]:
        mine = call(cls, dv, d, what=f"projector({dv}, {d})", models=True)
        assert isinstance(mine, torch.nn.Module), "your projector must be a torch.nn.Module"
        frozen = [name for name, p in torch.nn.Module.named_parameters(mine) if not p.requires_grad]
        assert not frozen, (f"{frozen} do not require grad: the projector is what LLaVA's stage 1 trains, so leave "
                            "its parameters trainable")
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
        assert out.requires_grad, ("the projector's output carries no gradient (torch.no_grad() or .detach() in "
                                   "forward?): stage 1 trains it through this output")
        if torch.allclose(out, ref.linear_2(ref.linear_1(x)), atol=1e-5):
            raise AssertionError("no non-linearity: put a GELU between the two Linear layers")
        assert torch.allclose(out, ref(x), atol=1e-5), "expected linear_2(gelu(linear_1(x)))"


@register("vlm.splice")
def check_splice(fn) -> None:
    """``fn(embeds, input_ids, image_features, image_token_id, labels) -> (embeds, labels)``."""
    require_callable(fn, "splice")
    g = generator(32)
    # the <image> id is 4 in the course's tokenizer and 32000 in llava-1.5's: it is an argument
    for B, T, N, D, pos, token in [(1, 5, 3, 4, [1], 4), (3, 7, 4, 8, [0, 3, 6], 4), (2, 6, 16, 2, [2, 2], 4),
                                   (2, 5, 3, 4, [4, 0], 32000)]:
        ids = torch.randint(5, 50, (B, T), generator=g)
        for b, p in enumerate(pos):
            ids[b, p] = token
        embeds = torch.randn(B, T, D, generator=g)
        labels = torch.randint(5, 50, (B, T), generator=g)
        feats = torch.randn(B, N, D, generator=g)
        mine_e, mine_f = embeds.clone().requires_grad_(True), feats.clone().requires_grad_(True)
        got = call(fn, mine_e, ids.clone(), mine_f, token, labels.clone(), what=f"splice(..., image_token_id={token})",
                   hints={"out of bounds": f"find the <image> positions with input_ids == image_token_id (here {token}, "
                                           "not the course tokenizer's 4)",
                          "numpy() on Tensor that requires grad": "the embeddings carry gradients: splice them with "
                                                                  "torch operations (torch.cat, indexing), not NumPy"})
        assert isinstance(got, tuple) and len(got) == 2, "return a tuple (embeds, labels)"
        ge, gl = (expect_tensor(t, f"splice(...)[{i}]") for i, t in enumerate(got))
        we, wl, _ = splice_image_features(embeds, ids, feats, token, labels)
        want_shape = (B, T - 1 + N, D)
        assert tuple(ge.shape) == want_shape, (f"each <image> token becomes {N} features: expected embeds of shape "
                                               f"{want_shape}; got {tuple(ge.shape)}")
        assert torch.allclose(ge, we), ("embeds differ: keep the text before the <image> token (image_token_id, "
                                        f"here {token}), then the image's features, then the text after it")
        assert ge.requires_grad, ("the spliced embeddings carry no gradient: build them with torch operations "
                                  "(torch.cat, indexing), not NumPy or .detach(), or nothing upstream can learn")
        ge.sum().backward()
        assert mine_f.grad is not None and torch.allclose(mine_f.grad, torch.ones_like(feats)), (
            "each image feature should reach the output once: its gradient should be 1 everywhere")
        assert tuple(gl.shape) == (B, T - 1 + N), f"labels must have shape {(B, T - 1 + N)}; got {tuple(gl.shape)}"
        assert gl.dtype == torch.long, (f"labels are {gl.dtype}; labels are token ids, torch.long, as cross_entropy "
                                        "expects (torch.full(..., IGNORE_INDEX) with an int, or dtype=labels.dtype)")
        if not (gl == IGNORE_INDEX).any():
            raise AssertionError(f"the image positions need label IGNORE_INDEX ({IGNORE_INDEX}): the model "
                                 "is not asked to predict image features")
        assert torch.equal(gl, wl), "labels differ: text labels keep their place, image positions get -100"


@register("vlm.chat_prompt")
def check_chat_prompt(fn) -> None:
    """``fn(messages, add_generation_prompt) -> str`` equal to the processor's chat template."""
    require_callable(fn, "build_prompt")
    text_first = {"role": "user", "content": [{"type": "text", "text": "describe"}, {"type": "image"}]}
    convs = [
        ([chat.user("what colour is the circle?")], True),
        ([chat.user("what colour is the circle?"), chat.assistant("red")], False),
        ([chat.user("how many objects are there?"), chat.assistant("3"),
          chat.user("where is the red square?", image=False)], True),
        ([chat.user("describe the image.", image=False), chat.assistant("a blue cross")], False),
        ([chat.user("what colour is the circle?")], False),  # no generation prompt asked for: none added
        ([chat.user("what colour is the circle?"), chat.assistant("red")], True),  # asked for: added, whoever spoke
        ([chat.user("red?", image=False), chat.user("or blue?", image=False)], False),  # roles, not positions
        ([text_first], True),  # the image where the message puts it
    ]
    tok = chat.make_tokenizer(["what colour is the circle? how many objects where red square blue cross 3"])
    for messages, gen in convs:
        want = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
        assert want == chat.build_prompt(messages, gen)
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
        (["top-left", "red,blue", "on the left", "a red circle"], ["top left", "red blue", "on left", "red circle"], 1.0),
        (["red square", "12", "Two.", "the"], ["red", "2", "2", ""], 0.5),  # equal, not contained; "the" -> ""
    ]
    for preds, answers, want in cases:
        got = expect_float(call(fn, list(preds), list(answers), what="exact_match(...)"), "exact_match")
        assert abs(got - want) < 1e-9, (f"exact_match({preds}, {answers}) = {got}; expected {want} "
                                        "(lower-case, drop punctuation and a/an/the, 'two' -> '2')")
        assert abs(got - vqa.exact_match(preds, answers)) < 1e-9
