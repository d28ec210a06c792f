"""All layer classes (re-exported by ``labkit.nn``)."""
from .module import Module
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
from .linear import Identity, Linear, Bilinear, Flatten, Unflatten
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .pooling import (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d,
                      AdaptiveAvgPool2d)
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, InstanceNorm2d
from .dropout import Dropout, Dropout1d, Dropout2d
from .sparse import Embedding
from .activation import (ReLU, ReLU6, LeakyReLU, ELU, SELU, CELU, GELU, SiLU, Mish, Tanh,
                         Sigmoid, Softplus, Softmax, LogSoftmax, Softmin, Hardtanh, Hardsigmoid,
                         Hardswish, LogSigmoid, Softsign, Tanhshrink, Threshold, GLU, PReLU)
from .loss import (L1Loss, MSELoss, SmoothL1Loss, HuberLoss, CrossEntropyLoss, NLLLoss, BCELoss,
                   BCEWithLogitsLoss, KLDivLoss)
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell
from .transformer import (MultiheadAttention, TransformerEncoderLayer, TransformerEncoder,
                          TransformerDecoderLayer, TransformerDecoder, Transformer)
from .upsampling import Upsample, UpsamplingNearest2d, UpsamplingBilinear2d
from .lazy import (LazyModuleMixin, LazyLinear, LazyConv1d, LazyConv2d, LazyBatchNorm1d,
                   LazyBatchNorm2d)
from .loss_more import (MarginRankingLoss, HingeEmbeddingLoss, SoftMarginLoss,
                        MultiLabelSoftMarginLoss, MultiMarginLoss, MultiLabelMarginLoss,
                        CosineEmbeddingLoss, TripletMarginLoss, TripletMarginWithDistanceLoss,
                        GaussianNLLLoss, PoissonNLLLoss, CTCLoss, NLLLoss2d,
                        LinearCrossEntropyLoss, AdaptiveLogSoftmaxWithLoss,
                        LinearCrossEntropyOptions)
from .extra import (Hardshrink, Softshrink, RReLU, Softmax2d, AlphaDropout, FeatureAlphaDropout,
                    Dropout3d, PixelShuffle, PixelUnshuffle, ChannelShuffle, RMSNorm,
                    LocalResponseNorm, PairwiseDistance, CosineSimilarity, EmbeddingBag, Fold,
                    Unfold, ZeroPad1d, ZeroPad2d, ZeroPad3d, ConstantPad1d, ConstantPad2d,
                    ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReflectionPad3d,
                    ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, CircularPad1d,
                    CircularPad2d, CircularPad3d, BatchNorm3d, InstanceNorm1d, InstanceNorm3d)
from .pooling_more import (Conv3d, ConvTranspose3d, AdaptiveMaxPool1d, AdaptiveMaxPool2d,
                           AdaptiveMaxPool3d, AdaptiveAvgPool3d, MaxPool3d, AvgPool3d, LPPool1d,
                           LPPool2d, LPPool3d, MaxUnpool1d, MaxUnpool2d, MaxUnpool3d,
                           FractionalMaxPool2d, FractionalMaxPool3d)
from .lazy_more import (LazyConv3d, LazyBatchNorm3d, LazyConvTranspose1d, LazyConvTranspose2d,
                        LazyConvTranspose3d)
