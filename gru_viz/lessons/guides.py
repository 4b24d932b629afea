"""Each lesson's guide: what to predict, where to look, what it means, what to try next.

Prose kept as prose: per lesson "key | title", then the four texts. Every number was measured on
the lesson's setup (seeds 0–7); where a sentence and a measurement disagreed, the sentence was
changed. tests/test_lessons.py scans these texts for the common misconceptions.
"""

from __future__ import annotations

import re

_GUIDES = """
forget | Why plain RNNs forget
predict: Both models must add the two marked values of a 50-step sequence; the first can lie 49
steps before the answer. Which model gets below the dashed baseline, and which stays on it?
look_at: Loss: the RNN stays on the baseline while the GRU drops far below it after about 150–200
steps. ‖∂L/∂h_t‖ over time: at initialisation (dotted) both lines fall by many orders of magnitude
towards t = 0; as the GRU learns, its line lifts at the early steps, the RNN's stays down.
meaning: The loss is read only at the last step, so the only signal for remembering the first value
is the gradient that travels back through every step. In the RNN each step back multiplies it by
tanh′(·) W_hh, which here shrinks it: almost nothing reaches the early steps. Where the GRU's update
gate is near 1, h_t ≈ h_{t−1}: that step passes the gradient back without shrinking it.
try_next: Try the control: at length 10 the gradient still reaches the start at initialisation
(about 1 % of it), and the RNN learns too on most seeds. Then set the length to 100: the GRU still
gets below half the baseline; the RNN stays on it.

update_gate | The update gate as a memory switch
predict: The models see 3 symbols, 20 blank steps, then must recall the symbols. Where will the
GRU's update gate z sit near 1 (keep the old state), and where lower (take in something new)?
look_at: Gates: about half of the GRU's units keep z above 0.9 (bright) through the blank lag and
are darker on the first 3 steps, where the symbols arrive (13–18 of 32 units in our runs). Loss: the
GRU falls far below chance (log 4) within 300 steps. Prediction vs target: on the recall steps
P(right symbol) climbs towards 1.
meaning: h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}: where z ≈ 1 a unit carries its value forward
untouched; where z is lower it takes in the candidate n_t. With z = 0.9 a unit keeps 0.9²⁰ ≈ 12 % of
its value across the 20-step lag. The trained GRU uses z as a switch: write on the symbol steps,
hold through the lag.
try_next: Try the control: with a lag of 5 the GRU recalls just as well, but hardly any unit keeps z
above 0.9 (0–5 of 32): over 5 steps z ≈ 0.7 already keeps 17 %. Then raise the lag to 40: this
GRU stays at chance for hundreds of steps; the lesson 'A positive update-gate bias for long
memory' shows a way out.

reset_gate | What the reset gate does, and why the latch can do without it
predict: The output must be the value shown at the latest marker, so at each marker the old value
must be overwritten. Which gate does that: the reset gate r, the update gate z, or both? Would a
GRU whose r is fixed at 1 still learn the task?
look_at: Gates: the GRU's reset gate r is lower at the marker steps in most units, and z dips there
too (markers are drawn on the heatmaps). Loss: the GRU ends below 1 % of the baseline. The check's
summary gives the same GRU trained again with r fixed at 1.
meaning: h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1} and n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1}
+ b_hn)). Starting afresh takes both: r ≈ 0, a candidate that leaves out the old state, and a low z
that writes that candidate into h. The trained GRU lowers both at the markers. Yet r is not needed
here: the same GRU trained on the same batches with r fixed at 1 learns the latch too (0.7–2.4 % of
the baseline in our runs), because a low z alone can overwrite. Simplified GRUs (the minimal gated
unit, the light GRU) merge or drop the reset gate because it is often optional like this.
try_next: Try the control: the update gate z is clamped to 0 while training, so r alone must
overwrite. The GRU still learns (3–14 % of the baseline in our runs), but its copy with r fixed at
1 as well stays near the baseline (58–93 %): without z, r is needed.

exploding | Exploding gradients and clipping
predict: The recurrent weights start 12 times larger than PyTorch's (largest singular value about
13). Plain SGD with learning rate 0.2, no clipping, the adding problem over 20 steps. Will the
gradient at the first step be smaller or larger than at the last? Will the GRU's gates protect it?
look_at: ‖∂L/∂h_t‖ over time: at initialisation (dotted) the lines rise towards t = 0, by 10⁴–10⁶
for the RNN and 10²–10⁴ for the GRU. Gradient norm per step: already thousands to hundreds of
thousands at the very first step. Both models are stopped within 40 steps (in red). Loss (log
scale): it soars by orders of magnitude before the stop.
meaning: The loss is read at the last step, and each step back multiplies the gradient by that
step's Jacobian; when those factors exceed 1 they compound and the gradient explodes back through
time (Pascanu et al. 2013). A largest singular value above 1 is needed for this but not enough:
PyTorch's initialisation already has about 1.1, and its gradient vanishes. An exploding gradient
times even a small learning rate is a huge step: the first updates saturate the units and training
never recovers. The GRU's gates damp the growth (hundreds of times less than the RNN's here) but do
not bound it: the GRU is stopped too. Clipping rescales a gradient longer than the threshold to the
threshold, so one update moves the weights by at most learning rate × threshold; it does not stop
the gradient from exploding. The check trains your settings again with clipping at 1.
try_next: Set 'Gradient clipping' to 1, press Reset, then Play: the gradient norm stays above the
clip line on nearly every step, yet every step trains and the loss never explodes (at most about
18 × the baseline in our runs); it is slow to reach the baseline. Then try the controls: with
PyTorch's initialisation nothing explodes at this learning rate, and with learning rate 1 the run
blows up although no gradient grows back through time: a step that is too large, not an
exploding gradient.

masks | Padding: where you read the answer
predict: Sequences now have different lengths (15 to 30 steps), padded with zeros to 30, and this
run scores each answer at the last step of the padded batch, as code that takes the final output
of a padded batch does. Will the GRU still learn the sum? Would its answer change if the padding
held noise instead of zeros?
look_at: Loss: the GRU still drops far below the dashed baseline, only more slowly than when each
sequence is read at its own end; the RNN stays on the baseline. ‖∂L/∂h_t‖ over time: the gradient
runs on through the padding (marked on the charts) instead of stopping at each sequence's end.
meaning: The GRU carries the sum through zero padding the way it carries it through any unmarked
step: a zero input looks like a step with nothing to add. So the loss looks fine and the bug stays
hidden. The check fills the padding with random noise: read at the padded end, the loss jumps to
several times the baseline (2.5–12 × in our runs), because noise in the marker channel looks like
markers. Read at each sequence's own last real step, the answer moves by exactly 0: a forward RNN
never sees the steps after the one it is read at.
try_next: Try the control: 'Read the answer at' its last real step. Noise in the padding now
changes nothing, and ∂L/∂h_t is blank after each sequence's end. Then open the lesson 'Missing
values need a mask'.

missing | Missing values need a mask
predict: A forecasting task where 30 % of the inputs are missing and arrive as 0; a second input
channel says whether each value was observed (1) or not (0). Does the GRU need that channel, or can
it tell a missing 0 from a real value near 0 by itself?
look_at: Input of this probe sequence: the observed channel drops to 0 where a value is missing.
Loss: the dash-dot line is the best a model without memory does; the GRU gets well below it.
Prediction vs target: look at the steps whose input was missing.
meaning: Without the mask a missing value is a plain 0, and the signal passes through 0 too, so the
model must guess which zeros are real. The check trains the same GRU on the same batches without
the mask channel: its loss ends two to three times as high in our runs.
try_next: Try the control: set the missing rate to 0. The check then finds no difference between
the GRU with and without the mask channel, since there is nothing for the mask to mark.

gate_bias | A positive update-gate bias for long memory
predict: The copy task with a 40-step lag, and the GRU's update-gate bias set to +2: z ≈ σ(2) ≈ 0.88
everywhere, so it starts out keeping most of its state. Will it leave chance sooner than at z ≈ 0.5?
look_at: Gates: z starts bright everywhere. ‖∂L/∂h_t‖ over time: at initialisation (dotted) about
2 % of the last step's gradient already reaches the first symbol step. Loss: the GRU leaves chance
(log 4) within about 150 steps and settles a little above half of it.
meaning: With z ≈ 0.88 each step keeps 88 % of the old state, so from the start memory and gradient
fade far more slowly across the lag than with z ≈ 0.5: the GRU gets a learning signal from the
distant symbols at once. (An LSTM's positive forget-gate bias does the same.) The check trains your
setup again without the bias, on the same batches, to compare.
try_next: Try the controls: without the bias there is nothing to compare, and with a lag of 5 the
GRU without the bias learns as well or better (the bias slows it there). Keep training the lesson's
run past step 200: the loss sits a little above half of chance, then falls again as the GRU learns
to recall all three symbols.

blog_formula | The formula in many blog posts
predict: Many articles print a GRU whose update gate z is the share of the candidate written into
the state and whose reset gate r multiplies the candidate after the tanh (the panel 'Equations:
exactly what the code computes' shows it as "Blog GRU"). It trains here beside PyTorch's GRU on the
latch: output the value shown at the latest marker. Will the blog formula learn the latch? At the
markers, will its gates do what the GRU's do?
look_at: Loss: both fall far below the dashed baseline, and on most seeds the blog cell (red) gets
there first: by step 140 its loss was 0.3–0.6 × the GRU's on 6 of our 8 seeds and level with it on
the other two (ahead on 22 of 24 seeds in a longer check). Gates: at the markers (drawn on the
heatmaps) the GRU's z is darker than elsewhere (0.46–0.56 against 0.57–0.65 in our runs) and the
blog cell's z brighter (0.45–0.52 against 0.33–0.41). r too moves in opposite directions: the
GRU's falls at the markers (0.27–0.28 against 0.39–0.42), the blog cell's rises (0.51–0.57 against
0.44–0.49).
meaning: It trains, but it is another function, and its gates mean other things. In PyTorch's GRU
a large z keeps the old state; in the blog formula a large z writes the candidate. So to overwrite
at a marker the GRU lowers its z and the blog cell raises its own. The article this formula comes
from makes three errors. (1) It calls it the GRU, but r outside the tanh is neither Cho et al.'s
GRU nor PyTorch's: both apply r to the old state inside the candidate, so a low r lets the
candidate leave the old state out (the GRU's r falls at the markers here). In the blog formula the
candidate always sees the old state, and r only scales what is written: the blog cell's r rises
where it writes. (2) It reverses r's meaning: "a small r keeps the state" is wrong. A small r
suppresses the write, and the state keeps only its 1 − z share, so where z is large the state is
erased toward zero. (3) It credits the gates with solving exploding gradients. Where a state is
kept, the gates give the gradient a near-identity path, which helps against vanishing gradients;
nothing in them bounds a gradient that grows (the lesson 'Exploding gradients and clipping'). Why
the blog cell is faster here seems to be its r outside the tanh: trained with r fixed at 1 in both
cells, it is no longer ahead (0.8–1.9 × the GRU's loss at step 140 in our runs).
try_next: Try the controls: the update gate fixed in both cells while training. Fixed at 0, the
GRU writes its candidate at every step and still learns the latch part of the way (12–19 % of the
baseline by step 140 in our runs), while the blog cell never writes and stays on the baseline.
Fixed at 1 it is the other way round: the GRU never writes and stays on the baseline, and the blog
cell, which then rewrites its state at every step from a candidate that sees the old state, learns
the latch (2–5 %). Then set the length to 50: at step 140 the blog cell was ahead on all 8 of our
seeds there (0.4–0.7 × the GRU's loss).

lstm_bias | LSTM vs GRU at equal parameter counts, and the forget-gate bias
predict: The copy task with a 15-step lag. A GRU with 32 units and an LSTM sized to as many weights
(27 units, 3,892 weights against the GRU's 3,972: an LSTM has four weight blocks to the GRU's
three). The LSTM's forget-gate bias starts at +1, so f ≈ σ(1) ≈ 0.73. Which model leaves chance
first? Would the LSTM leave it at all with PyTorch's default biases?
look_at: Loss: the GRU falls to a few percent of chance (log 4) by step 300 (0.3–3.1 % in our
runs); the LSTM leaves chance too, but only to about half of it (48–66 %). Gates: the LSTM's
forget gate f starts bright everywhere (0.73 on average). ‖∂L/∂h_t‖ over time: at initialisation
(dotted) the LSTM's line falls less steeply towards t = 0 than it would without the bias.
meaning: An LSTM's cell keeps the share f of its old value at each step: c_t = f_t ⊙ c_{t−1} + i_t
⊙ g_t. PyTorch draws every bias at random around 0, so f starts near σ(0) = 0.5, and a symbol keeps
about 0.5¹⁵ ≈ 0.003 % of itself across the lag; the gradient that would teach the LSTM to keep it
is as small. A forget-gate bias of +1 (Jozefowicz et al. 2015; here b_if = 1, b_hf = 0) starts f
near 0.73, which keeps 0.73¹⁵ ≈ 1 %: at initialisation 64–188 times as much of the last step's
gradient reached t = 0 in our runs. The check trains your LSTM again without the bias, on the same
batches: it stays at chance (100 %) through step 300, and in our longer runs through step 1000,
while the biased LSTM reaches 0.2–11 % of chance by step 1000. It is the LSTM's counterpart of the
GRU's update-gate bias. A side finding: at equal parameter counts the GRU learns this task much
faster than the LSTM, bias or not, although at initialisation more of the biased LSTM's
gradient reaches t = 0 than of the GRU's (0.3–1.7 % against 0.02–0.06 %). One task and one size:
this is not a ranking of the two cells, but "the LSTM is the long-memory cell" is no rule either.
try_next: Try the controls: with a 5-step lag the LSTM learns without the bias too (7–19 % of chance
by step 300 in our runs, 2–10 % with it), so the bias has nothing to rescue; with the bias at 0
the LSTM stays flat at chance beside a GRU that learns. Then keep the lesson's run going to step
1000, or set the task to forecast: there the bias changes nothing (the LSTM ends at 1.4–1.7 % of
the baseline with or without it).
"""

STAGES = ("predict", "look_at", "meaning", "try_next")


def _parse(text: str) -> dict[str, dict[str, str]]:
    """{key: {"title": ..., "predict": ..., ...}} from the blocks above, lines rejoined."""
    guides = {}
    for block in text.strip().split("\n\n"):
        head, body = block.split("\n", 1)
        key, title = (part.strip() for part in head.split("|"))
        parts = re.split(r"^(predict|look_at|meaning|try_next): ", body, flags=re.MULTILINE)
        texts = zip(parts[1::2], parts[2::2], strict=True)
        guides[key] = {"title": title, **{name: " ".join(t.split()) for name, t in texts}}
    return guides


GUIDES = _parse(_GUIDES)
