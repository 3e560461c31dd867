// The built-in text the synth tokenizer learns its merges from (written for longkv; plain
// English about everyday things, servers and memory, so frequent words and word pieces
// become tokens).
#pragma once

namespace lk {

inline constexpr const char* kSynthCorpus = R"(
The morning was quiet when the first users arrived. Each of them opened a long document and
asked a question about it, then waited for the answer and read it slowly before asking the
next one. The server kept every conversation in memory, and the memory was never enough.
When a user stopped to think, the cache of that session moved from the fast memory to the
slower one, and when the user came back it moved again. This is what people call a context
switch, and it costs time that nobody sees but everybody pays.

A small model can answer simple questions about a story. Once upon a time there was a little
girl who lived in a house near the river. She liked to walk along the water with her dog and
count the boats that passed by. One day she found a key in the grass. It was old and heavy,
and she wondered which door it would open. She asked her mother, her father and her friends,
but nobody knew. So she decided to find the door herself, and she walked from house to house
until the evening came and the lights were turned on in every window.

Long context is useful because the answer is often far from the question. A contract, a
book, a log of a thousand requests or the code of a large project can be read at once, and
the model can find the one line that matters. The price of that is memory: every token that
was read keeps its keys and values in every layer, and the size of the cache grows with the
length of the text, the number of layers and the number of heads. Fewer heads, fewer layers,
fewer tokens or fewer bits per number make the cache smaller, and each of these choices can
keep the answers right or make them wrong. We measure instead of guessing.

Numbers help: one thousand, two thousand, four thousand and eight thousand tokens; ten, twenty,
fifty and one hundred users; three seconds, thirty seconds and three minutes. The table shows
the time to read the prompt, the time to write each new token, and the time to move the cache.
If the cache does not fit, the server must wait, and the users must wait with it. The goal is
simple to state and hard to reach: serve many long sessions on one machine, quickly, without
losing the information that the questions need.

In the garden the children were playing with a red ball. The sun was warm and the sky was
blue. A bird sang in the tree, and the cat watched it from the window. Then the rain started,
and everyone ran inside to drink hot milk and read a book together. They talked about the
day, about what they had seen and what they wanted to do tomorrow, and they laughed until it
was time to sleep. The house was quiet again, and the only sound was the rain on the roof.
)";

}  // namespace lk
