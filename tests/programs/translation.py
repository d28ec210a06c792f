"""A sequence-to-sequence "translation" model on nn.Transformer, in the style of PyTorch's
language-translation tutorial (our own code): token embeddings scaled by sqrt(d), sinusoidal
positions, masks for the decoder and for padding, teacher forcing, greedy decoding."""
import math

import torch
import torch.nn as nn
from torch import Tensor

PAD, BOS, EOS = 0, 1, 2


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout, maxlen=64):
        super().__init__()
        den = torch.exp(-torch.arange(0, d_model, 2) * math.log(10000) / d_model)
        pos = torch.arange(0, maxlen).reshape(maxlen, 1)
        pe = torch.zeros((maxlen, d_model))
        pe[:, 0::2] = torch.sin(pos * den)
        pe[:, 1::2] = torch.cos(pos * den)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("pe", pe.unsqueeze(-2))

    def forward(self, x: Tensor):
        return self.dropout(x + self.pe[:x.size(0), :])


class TokenEmbedding(nn.Module):
    def __init__(self, vocab, d_model):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d_model)
        self.d_model = d_model

    def forward(self, tokens: Tensor):
        return self.embedding(tokens.long()) * math.sqrt(self.d_model)


class Seq2Seq(nn.Module):
    def __init__(self, n_enc, n_dec, d_model, nhead, src_vocab, tgt_vocab, d_ff=64,
                 dropout=0.1):
        super().__init__()
        self.transformer = nn.Transformer(d_model=d_model, nhead=nhead,
                                          num_encoder_layers=n_enc, num_decoder_layers=n_dec,
                                          dim_feedforward=d_ff, dropout=dropout)
        self.generator = nn.Linear(d_model, tgt_vocab)
        self.src_emb = TokenEmbedding(src_vocab, d_model)
        self.tgt_emb = TokenEmbedding(tgt_vocab, d_model)
        self.pos = PositionalEncoding(d_model, dropout)

    def forward(self, src, tgt, src_mask, tgt_mask, src_pad, tgt_pad, mem_pad):
        out = self.transformer(self.pos(self.src_emb(src)), self.pos(self.tgt_emb(tgt)),
                               src_mask, tgt_mask, None, src_pad, tgt_pad, mem_pad)
        return self.generator(out)

    def encode(self, src, src_mask):
        return self.transformer.encoder(self.pos(self.src_emb(src)), src_mask)

    def decode(self, tgt, memory, tgt_mask):
        return self.transformer.decoder(self.pos(self.tgt_emb(tgt)), memory, tgt_mask)


def make_masks(src, tgt):
    S, T = src.shape[0], tgt.shape[0]
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(T)
    src_mask = torch.zeros((S, S)).type(torch.bool)
    return src_mask, tgt_mask, (src == PAD).transpose(0, 1), (tgt == PAD).transpose(0, 1)


def train_steps(model, batches, steps):
    """``batches``: (src, tgt) int arrays of shape (length, batch); returns the losses."""
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
    model.train()
    losses = []
    for i in range(steps):
        src, tgt = (torch.tensor(a) for a in batches[i % len(batches)])
        tgt_in = tgt[:-1, :]
        src_mask, tgt_mask, src_pad, tgt_pad = make_masks(src, tgt_in)
        logits = model(src, tgt_in, src_mask, tgt_mask, src_pad, tgt_pad, src_pad)
        opt.zero_grad()
        tgt_out = tgt[1:, :]
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def greedy_decode(model, src, max_len):
    model.eval()
    src = torch.tensor(src).view(-1, 1)
    src_mask = torch.zeros(src.shape[0], src.shape[0]).type(torch.bool)
    memory = model.encode(src, src_mask)
    ys = torch.ones(1, 1).fill_(BOS).type(torch.long)
    for _ in range(max_len - 1):
        tgt_mask = nn.Transformer.generate_square_subsequent_mask(ys.size(0)).type(torch.bool)
        out = model.decode(ys, memory, tgt_mask).transpose(0, 1)
        prob = model.generator(out[:, -1])
        _, nxt = torch.max(prob, dim=1)
        nxt = nxt.item()
        ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(nxt)], dim=0)
        if nxt == EOS:
            break
    return ys.flatten().tolist()
