"""CLIP from scratch (Radford et al., 2021, "Learning Transferable Visual Models From
Natural Language Supervision"), in the style of open_clip.

Two towers map an image and a text into one space: a Vision Transformer and a causal
text transformer, each followed by a linear projection and L2 normalisation. Training
pulls the N matching pairs of a batch together and pushes the N^2 - N others apart with
a symmetric cross-entropy over cosine similarities scaled by a learned temperature
(the paper's Figure 3 pseudo-code).

Parameter names follow transformers' ``CLIPModel`` (``vision_model.embeddings...``,
``text_projection``...), so :meth:`CLIP.from_hf` is a plain ``load_state_dict`` and
``tests/test_clip.py`` checks the embeddings agree to 1e-5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..contracts import Bool, Duck, Tensor, check_images, contract
from .cnn import CNNConfig, SmallCNN


@dataclass(frozen=True)
class CLIPConfig:
    """Configuration of :class:`CLIP` (the defaults are tiny; ViT-B/32 is in the comments)."""

    embed_dim: int = 32  # 512 for ViT-B/32
    # vision tower
    image_size: int = 32  # 224
    patch_size: int = 8  # 32
    vision_width: int = 64  # 768
    vision_layers: int = 2  # 12
    vision_heads: int = 4  # 12
    # text tower
    vocab_size: int = 64  # 49408
    context_length: int = 16  # 77
    text_width: int = 64  # 512
    text_layers: int = 2  # 12
    text_heads: int = 4  # 8
    eos_token_id: int = 3  # 49407; 2 selects the legacy "highest id" pooling, as transformers does
    mlp_ratio: float = 4.0
    layer_norm_eps: float = 1e-5
    logit_scale_init: float = 1 / 0.07  # the paper's initial temperature 0.07
    logit_scale_max: float = 100.0  # the learned scale is clipped at 100 (paper section 2.5)
    logit_bias_init: float | None = None  # SigLIP's learned bias b (-10 in Zhai et al., 2023); None: no bias

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError(f"patch_size={self.patch_size} must divide image_size={self.image_size}")
        for width, heads, name in [(self.vision_width, self.vision_heads, "vision"),
                                   (self.text_width, self.text_heads, "text")]:
            if width % heads:
                raise ValueError(f"{name}_width={width} must be divisible by {name}_heads={heads}")


def quick_gelu(x: torch.Tensor) -> torch.Tensor:
    """x * sigmoid(1.702 x): the GELU approximation OpenAI's CLIP was trained with."""
    return x * torch.sigmoid(1.702 * x)


# CLIP keeps its own attention, MLP and block instead of models/layers.py: their parameter
# names (q_proj, k_proj, v_proj, out_proj, fc1, fc2, layer_norm1, ...) must match transformers'
# CLIPModel so that CLIP.from_hf is a plain load_state_dict.
class Attention(nn.Module):
    """Multi-head attention with separate q/k/v projections (the transformers layout)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj = nn.Linear(width, width), nn.Linear(width, width)
        self.v_proj, self.out_proj = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        B, T, D = x.shape  # (batch, tokens, width)
        H = self.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(B, T, H, D // H).transpose(1, 2)  # (B, H, T, D/H)

        out = F.scaled_dot_product_attention(split(self.q_proj(x)), split(self.k_proj(x)),
                                             split(self.v_proj(x)), attn_mask=mask)
        return self.out_proj(out.transpose(1, 2).reshape(B, T, D))


class MLP(nn.Module):
    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, hidden), nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(quick_gelu(self.fc1(x)))


class EncoderLayer(nn.Module):
    """Pre-LN block: x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, eps: float) -> None:
        super().__init__()
        self.self_attn = Attention(width, heads)
        self.layer_norm1 = nn.LayerNorm(width, eps=eps)
        self.mlp = MLP(width, int(width * mlp_ratio))
        self.layer_norm2 = nn.LayerNorm(width, eps=eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, mlp_ratio: float, eps: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer(width, heads, mlp_ratio, eps) for _ in range(layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, mask)
        return x


class VisionEmbeddings(nn.Module):
    def __init__(self, c: CLIPConfig) -> None:
        super().__init__()
        self.class_embedding = nn.Parameter(torch.randn(c.vision_width) * c.vision_width**-0.5)
        self.patch_embedding = nn.Conv2d(3, c.vision_width, c.patch_size, stride=c.patch_size, bias=False)
        n = (c.image_size // c.patch_size) ** 2 + 1
        self.position_embedding = nn.Embedding(n, c.vision_width)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        B = images.shape[0]
        patches = self.patch_embedding(images).flatten(2).transpose(1, 2)  # (B, N, D)
        cls = self.class_embedding.expand(B, 1, -1)  # (B, 1, D)
        return torch.cat([cls, patches], dim=1) + self.position_embedding.weight  # (B, 1 + N, D)


class VisionTransformer(nn.Module):
    """Image tower: patches + [CLS] + positions -> LN -> blocks -> LN of [CLS]."""

    def __init__(self, c: CLIPConfig) -> None:
        super().__init__()
        self.embeddings = VisionEmbeddings(c)
        self.pre_layrnorm = nn.LayerNorm(c.vision_width, eps=c.layer_norm_eps)  # sic: transformers' name
        self.encoder = Encoder(c.vision_width, c.vision_layers, c.vision_heads, c.mlp_ratio, c.layer_norm_eps)
        self.post_layernorm = nn.LayerNorm(c.vision_width, eps=c.layer_norm_eps)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.pre_layrnorm(self.embeddings(images)))
        return self.post_layernorm(h[:, 0])  # (B, D): the [CLS] output


class TextEmbeddings(nn.Module):
    def __init__(self, c: CLIPConfig) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(c.vocab_size, c.text_width)
        self.position_embedding = nn.Embedding(c.context_length, c.text_width)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.token_embedding(tokens) + self.position_embedding.weight[: tokens.shape[1]]


class TextTransformer(nn.Module):
    """Text tower: causal transformer; the sequence is summarised at its end-of-text token."""

    def __init__(self, c: CLIPConfig) -> None:
        super().__init__()
        self.config = c
        self.embeddings = TextEmbeddings(c)
        self.encoder = Encoder(c.text_width, c.text_layers, c.text_heads, c.mlp_ratio, c.layer_norm_eps)
        self.final_layer_norm = nn.LayerNorm(c.text_width, eps=c.layer_norm_eps)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        B, T = tokens.shape
        # each token sees itself and the tokens before it (the causal mask of a language model)
        causal = torch.ones(T, T, dtype=torch.bool, device=tokens.device).tril()
        h = self.final_layer_norm(self.encoder(self.embeddings(tokens), causal))
        if self.config.eos_token_id == 2:  # legacy: the end token has the highest id
            eos = tokens.argmax(dim=-1)
        else:  # the first end-of-text token
            eos = (tokens == self.config.eos_token_id).int().argmax(dim=-1)
        return h[torch.arange(B, device=tokens.device), eos]  # (B, D)


class CLIP(nn.Module):
    """Image tower + text tower + projections + a learned temperature.

    Used in: chapter 02
    """

    def __init__(self, config: CLIPConfig, vision_model: nn.Module | None = None) -> None:
        """``vision_model`` replaces the ViT tower: any module mapping (B, 3, H, W) images
        to (B, config.vision_width) features (e.g. :class:`CNNTower`)."""
        super().__init__()
        if not isinstance(config, CLIPConfig):
            raise TypeError(f"config must be a CLIPConfig; got {type(config).__name__}")
        self.config = c = config
        self.vision_model = vision_model if vision_model is not None else VisionTransformer(c)
        self.text_model = TextTransformer(c)
        self.visual_projection = nn.Linear(c.vision_width, c.embed_dim, bias=False)
        self.text_projection = nn.Linear(c.text_width, c.embed_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(c.logit_scale_init)))
        self.logit_bias = None if c.logit_bias_init is None else nn.Parameter(torch.tensor(float(c.logit_bias_init)))
        self.tokenizer = None  # set one to let encode_text take strings

    @contract(normalize=Bool())
    def encode_image(self, images: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] (already normalised as the tower expects) -> (B, embed_dim)."""
        check_images(images, channels=3, size=self.config.image_size)
        z = self.visual_projection(self.vision_model(images))
        return F.normalize(z, dim=-1) if normalize else z

    @contract(normalize=Bool())
    def encode_text(self, tokens: torch.Tensor | list[str], normalize: bool = True) -> torch.Tensor:
        """(B, T) token ids, each containing the end-of-text id (or strings, with a
        tokenizer attached) -> (B, embed_dim)."""
        if isinstance(tokens, (list, tuple)) and tokens and isinstance(tokens[0], str):
            if self.tokenizer is None:
                raise TypeError("encode_text got strings but no tokenizer is attached (model.tokenizer = ...)")
            tokens = self.tokenizer(list(tokens))
        if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2:
            raise ValueError("tokens must be a (batch, length) tensor of token ids, or a list of strings")
        if tokens.shape[1] > self.config.context_length:
            raise ValueError(f"text is {tokens.shape[1]} tokens long; the context length is "
                             f"{self.config.context_length} (truncate it first)")
        z = self.text_projection(self.text_model(tokens))
        return F.normalize(z, dim=-1) if normalize else z

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B_img, B_txt) and their transpose, as in the paper's Figure 3 (plus the
        learned bias when the model has one, as SigLIP's)."""
        scale = self.logit_scale.exp().clamp(max=self.config.logit_scale_max)
        logits_per_image = scale * self.encode_image(images) @ self.encode_text(tokens).T
        if self.logit_bias is not None:
            logits_per_image = logits_per_image + self.logit_bias
        return logits_per_image, logits_per_image.T

    @classmethod
    @contract(model=Duck(("config", "state_dict", "logit_scale"), "a transformers CLIPModel"))
    def from_hf(cls, model) -> CLIP:
        """Build a :class:`CLIP` with the weights of a transformers ``CLIPModel``.

        Supports the standard configuration (quick_gelu, pre-LN, no projection bias).

        Used in: chapter 02
        """
        import transformers

        if not isinstance(model, transformers.CLIPModel):
            raise TypeError(f"model must be a transformers.CLIPModel; got {type(model).__name__}")
        v, t = model.config.vision_config, model.config.text_config
        if v.hidden_act != "quick_gelu" or t.hidden_act != "quick_gelu":
            raise ValueError(f"only quick_gelu CLIPs are supported; got {v.hidden_act}/{t.hidden_act}")
        if v.num_channels != 3:
            raise ValueError(f"the vision tower must take 3 channels; got {v.num_channels}")
        config = CLIPConfig(
            embed_dim=model.config.projection_dim, image_size=v.image_size, patch_size=v.patch_size,
            vision_width=v.hidden_size, vision_layers=v.num_hidden_layers, vision_heads=v.num_attention_heads,
            vocab_size=t.vocab_size, context_length=t.max_position_embeddings, text_width=t.hidden_size,
            text_layers=t.num_hidden_layers, text_heads=t.num_attention_heads, eos_token_id=t.eos_token_id,
            mlp_ratio=v.intermediate_size / v.hidden_size, layer_norm_eps=v.layer_norm_eps,
            logit_scale_init=float(model.logit_scale.detach().exp()),
        )
        if t.intermediate_size / t.hidden_size != config.mlp_ratio or t.layer_norm_eps != v.layer_norm_eps:
            raise ValueError("the two towers must share mlp_ratio and layer_norm_eps")
        ours = cls(config)
        state = {k: v for k, v in model.state_dict().items() if not k.endswith("position_ids")}
        ours.load_state_dict(state)
        return ours.to(next(model.parameters()).dtype).eval()


class CNNTower(nn.Module):
    """A :class:`~mmcourse.models.SmallCNN` body as a CLIP image tower: (B, 3, H, W) -> (B, C)."""

    def __init__(self, channels: tuple[int, ...] = (32, 64, 128)) -> None:
        super().__init__()
        self.cnn = SmallCNN(CNNConfig(channels=tuple(channels), num_classes=2))
        self.width = channels[-1]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.cnn.features(images)


@contract(logits_per_image=Tensor(rank=2, kind="float", what="(batch, batch) logits"))
def clip_loss(logits_per_image: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE: mean of cross-entropy over images (rows) and over texts (columns),
    the i-th image matching the i-th text.

    Used in: chapter 02
    """
    if logits_per_image.dim() != 2 or logits_per_image.shape[0] != logits_per_image.shape[1]:
        raise ValueError(f"logits_per_image must be square (batch, batch); got {tuple(logits_per_image.shape)}")
    target = torch.arange(logits_per_image.shape[0], device=logits_per_image.device)
    return (F.cross_entropy(logits_per_image, target) + F.cross_entropy(logits_per_image.T, target)) / 2


@contract(logits_per_image=Tensor(rank=2, kind="float", what="(batch, batch) logits"))
def siglip_loss(logits_per_image: torch.Tensor) -> torch.Tensor:
    """SigLIP's sigmoid loss (Zhai et al., 2023, eq. 1 and Algorithm 1): every (image, text)
    pair of the batch is its own binary problem, label +1 on the diagonal and -1 elsewhere;
    the loss is -sum_j log sigmoid(z_ij * logit_ij), averaged over the images. No softmax
    over the batch, so no batch-wide normalisation. Equals transformers' ``SiglipModel`` loss.

    Used in: chapter 02
    """
    if logits_per_image.dim() != 2 or logits_per_image.shape[0] != logits_per_image.shape[1]:
        raise ValueError(f"logits_per_image must be square (batch, batch); got {tuple(logits_per_image.shape)}")
    B = logits_per_image.shape[0]
    labels = 2 * torch.eye(B, device=logits_per_image.device) - 1  # +1 matching pairs, -1 the rest
    return -F.logsigmoid(labels * logits_per_image).sum(dim=1).mean()


@contract(similarity=Tensor(rank=2, kind="float", what="(batch, batch) similarities"))
def hardest_negatives(similarity: torch.Tensor) -> torch.Tensor:
    """For each row i of a square (B, B) similarity matrix (pair i matches column i), the
    column of the most similar *non-matching* item: the hardest negative.

    Used in: chapter 02
    """
    if similarity.dim() != 2 or similarity.shape[0] != similarity.shape[1]:
        raise ValueError(f"similarity must be square (batch, batch); got {tuple(similarity.shape)}")
    eye = torch.eye(similarity.shape[0], dtype=torch.bool, device=similarity.device)
    return similarity.masked_fill(eye, float("-inf")).argmax(dim=1)
