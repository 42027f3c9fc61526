"""Tooltips for the hyperparameter panel: what each knob does and what to watch when you move it."""

from __future__ import annotations

TIPS: dict[str, str] = {
    "optimizer": (
        "How a gradient becomes a weight update.\n"
        "SGD: w −= lr·g.  Momentum / Nesterov: keep a running velocity, faster along ravines.\n"
        "RMSProp: divide each step by a running RMS of its gradient (per-weight step sizes).\n"
        "Adam: momentum + RMSProp with bias correction; usually wants a smaller learning rate "
        "(about 1e-3).\nWatch: how fast and how smoothly the loss falls."
    ),
    "learning_rate": (
        "Size of every update step (log scale, 1e-5 … 10).\n"
        "Too low: the loss falls slowly in a flat line. Too high: the raw loss jumps around, "
        "rises, or turns into NaN (training pauses and names the layer).\n"
        "Watch: the loss curve and the update:data ratio (about 1e-3 is healthy)."
    ),
    "schedule": (
        "How the learning rate changes over the planned epochs.\n"
        "constant: never changes.  step: multiplied by γ every N epochs.  "
        "cosine: glides down to 1% by the last planned epoch.\n"
        "Watch: the learning-rate plot, and the loss settling lower after each drop."
    ),
    "step_every": "Step schedule: epochs between two learning-rate drops.",
    "step_gamma": (
        "Step schedule: factor the learning rate is multiplied by at every drop "
        "(0.5 halves it, 0.1 divides it by ten)."
    ),
    "batch_size": (
        "Images per mini-batch, i.e. per update step.\n"
        "1 = stochastic gradient descent: a very noisy loss, many tiny steps.\n"
        "full batch = the whole training set each step: a smooth loss but one step per epoch.\n"
        "Watch: the noise of the faint raw loss curve; bigger batches often tolerate a larger "
        "learning rate."
    ),
    "momentum": (
        "Fraction μ of the previous update kept in the next one (also Adam's β1).\n"
        "0 = plain SGD; 0.9 is usual; close to 1 the updates overshoot and the loss oscillates.\n"
        "Used by momentum, Nesterov and Adam."
    ),
    "beta2": (
        "Decay of the running average of squared gradients: Adam's β2, RMSProp's ρ.\n"
        "Higher = smoother per-weight step sizes that react more slowly. Usual: 0.999 (Adam), "
        "0.9–0.99 (RMSProp)."
    ),
    "l2": (
        "L2 weight decay: adds ½·λ·‖w‖² to the loss, pulling every weight towards zero.\n"
        "Fights overfitting: watch the gap between training and validation loss shrink. "
        "Too much and both rise (the network underfits). Off = 0."
    ),
    "dropout_scale": (
        "Multiplies every dropout layer's rate; 0 switches dropout off.\n"
        "Only matters if the network has dropout layers. Dropout makes training loss higher and "
        "noisier but can close the train/validation gap."
    ),
    "clip_norm": (
        "Gradient clipping: when the global L2 norm of all gradients exceeds this threshold, "
        "they are scaled down to it (direction kept).\n"
        "Tames exploding gradients (loss spikes, NaN). Watch the gradient-norm chart flatten at "
        "the threshold. Unchecked = no clipping."
    ),
    "init": (
        "How the initial weights of every dense layer and the output are drawn.\n"
        "He suits ReLU, Xavier suits tanh/sigmoid; zeros makes every unit in a layer identical "
        "(they never become different).\nChanging it rebuilds the network with fresh weights."
    ),
    "init_scale": (
        "Multiplies the initial weights. Below 1 the signal shrinks layer by layer "
        "(vanishing gradients); above 1 it grows (exploding). 1 = the scheme's own choice.\n"
        "Changing it rebuilds the network with fresh weights (on release)."
    ),
    "train_size": (
        "How many training images are used (class-balanced subset); 'all' uses the whole pool.\n"
        "With 100–500 images the network memorises them: training accuracy heads to 100% while "
        "validation stalls or falls — overfitting. Watch the accuracy plot's two curves part."
    ),
    "augment": (
        "Randomly shifts, rotates and scales each training image a little and adds noise, anew "
        "every time it is drawn.\n"
        "Makes memorising harder: training loss falls more slowly, validation holds up better."
    ),
    "epochs": (
        "Planned length of training in passes over the training set. Training pauses when it is "
        "reached (press Start to go on). The cosine schedule spans these epochs."
    ),
    "seed": (
        "Random seed for the initial weights, the data order, dropout and augmentation.\n"
        "The same seed and settings reproduce the same run exactly. Takes effect at the next "
        "reset (Ctrl+R)."
    ),
}
