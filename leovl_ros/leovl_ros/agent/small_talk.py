"""Greetings, thanks, goodbyes and an "ok": a reply in kind instead of a refusal or an answer to no question.

People greet a robot before they ask it anything ("hello", "hi robot", "good morning") and thank it after ("thanks!");
the scope check refused those as questions in no word the model knows. :func:`small_talk_reply` answers a message
that is only such words, and nothing else: "hello, where is the bed?" is a question and goes to the model.
ROS-free and torch-free.
"""

from __future__ import annotations

import re
from typing import Optional

_ADDRESS = r"(?:\s+(?:robot|there|buddy|leo|again|everyone|all))?"
"""Who a greeting may name after it ("hello robot", "hi there")."""

GREETING_REPLY = ("Hello! I answer questions about what my camera has seen: ask \"what can you do?\" for examples, "
                  "or \"what do you see?\".")
THANKS_REPLY = "You're welcome."
GOODBYE_REPLY = "Goodbye."
OK_REPLY = "OK."

_SMALL_TALK: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^(?:(?:hello|hi|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening|day)){_ADDRESS}"
                r"(?:\s*[,.!]?\s*(?:how are you(?: doing)?|how's it going))?|how are you(?: doing)?)$"),
     GREETING_REPLY),
    (re.compile(rf"^(?:(?:many thanks|thanks a lot|thank you(?: very much| so much)?|thanks|thx|ty|cheers)"
                rf"{_ADDRESS}(?:\s*[,.!]?\s*(?:that'?s (?:all|great|helpful)|great|perfect))?"
                r"|(?:great|perfect|nice|cool),? thanks)$"), THANKS_REPLY),
    (re.compile(rf"^(?:(?:good ?bye|bye(?: bye)?|see you(?: later)?|good night){_ADDRESS})$"), GOODBYE_REPLY),
    (re.compile(r"^(?:ok(?:ay)?|got it|thats? (?:all|it)|that's (?:all|it)|never ?mind|no thanks|great|cool|nice"
                r"|perfect|alright|all right)$"), OK_REPLY),
)
"""Whole messages of small talk, lower-cased with their punctuation around them stripped, and their reply."""


def small_talk_reply(text: str) -> Optional[str]:
    """The reply to a message that is only a greeting, a thanks or a goodbye (case, spacing and punctuation
    around it forgiven); None for anything else."""
    words = re.sub(r"^[\W_]+|[\W_]+$", "", re.sub(r"\s+", " ", text.lower()))  # "🙂 hello!!!" is "hello"
    return next((reply for pattern, reply in _SMALL_TALK if pattern.match(words)), None)
