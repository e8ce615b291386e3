"""Questions in many people's words: phrasing families per question kind, surface variation and the wording split.

A *family* is one way of asking (``"colour.possessive_what"``: "What is the lamp's colour?"), with a stable id
``<key>.<name>`` and a *form* (question, imperative, possessive, fronted, contain/find, polite, casual, …). A
question is one family's pattern with its slots filled (referring expressions, class names, relation words, all
drawn from synonyms), then decorated: a leading word ("hey robot,"), a trailing "please", capitalisation, final
punctuation and now and then one light typo in the pattern's own words. Answers never go through here: they keep
the canonical words.

The unseen-wording split (:func:`heldout_families`) holds out ≥ 30 % of every key's families by a committed,
seeded rule that looks only at family ids and forms: training data uses the other families only.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from leovl_ros.sim import templates as T

SPLIT_SEED = 27
"""Seed of the unseen-wording split (committed; changing it changes which families are held out)."""

HELDOUT_SHARE = 0.3
"""Smallest share of each key's families that is held out."""

FORCED_FORMS: tuple[str, ...] = ("imperative", "possessive", "contain")
"""Forms of which every key with at least two such families holds one out."""

WORDINGS: tuple[str, ...] = ("seen", "unseen", "all")
"""Which families a generator may draw: the training side, the held-out side, or both."""


@dataclass(frozen=True)
class Family:
    """One phrasing family: a pattern with ``{slot}`` fields, its stable id and its form."""

    key: str
    """What it phrases (a question kind such as ``colour`` or ``spatial_next_to``)."""
    name: str
    """Short name, unique within the key."""
    form: str
    """question, imperative, possessive, fronted, contain, exist, polite, casual or statement."""
    pattern: str
    """Text with ``{slot}`` fields."""

    @property
    def id(self) -> str:
        """Stable id ``<key>.<name>``."""
        return f"{self.key}.{self.name}"


# Each key: "name|form|pattern" lines. Slots: ref/ref2 (referring expressions), ref_s (possessive of ref),
# a_cls/cls_pl (class with article / plural), colour, place (door/window), where (agent-relative place), and the
# word slots of WORD_SLOTS below.
_TABLE: dict[str, tuple[str, ...]] = {
    "existence": (
        "is_there|exist|Is there {a_cls} {here}?",
        "are_there_any|exist|Are there any {cls_pl} {here}?",
        "can_you_see|exist|Can you see {a_cls} {here}?",
        "do_you_see_anywhere|exist|Do you see {a_cls} anywhere?",
        "somewhere|exist|Is {a_cls} somewhere {here}?",
        "does_exist|exist|Does {a_cls} exist in this room?",
        "room_have|contain|Does the room have {a_cls}?",
        "room_contain|contain|Does this room contain {a_cls}?",
        "would_i_find|contain|Would I find {a_cls} in this room?",
        "can_i_find|contain|Can I find {a_cls} {here}?",
        "tell_me_whether|imperative|Tell me whether there is {a_cls} {here}.",
        "check_if|imperative|Check if the room has {a_cls}.",
        "let_me_know|imperative|Let me know if you spot {a_cls}.",
        "contents_include|possessive|Do the room's contents include {a_cls}?",
        "furnishings|possessive|Is {a_cls} part of this room's furnishings?",
        "polite|polite|Could you tell me if there's {a_cls} {here}?",
        "casual_any|casual|any {cls_pl} around?",
        "casual_got|casual|got {a_cls} {here}?",
        "fronted|fronted|{a_cls}: is there one {here}?",
        "looking_for|fronted|I'm looking for {a_cls}. Is there one {here}?",
    ),
    "counting": (
        "how_many_are_there|question|How many {cls_pl} are there?",
        "how_many_in_room|question|How many {cls_pl} are in the room?",
        "how_many_can_you_see|question|How many {cls_pl} can you see?",
        "how_many_present|question|How many {cls_pl} are present?",
        "number_of|question|What is the number of {cls_pl} {here}?",
        "total_number|question|What's the total number of {cls_pl}?",
        "does_room_have|contain|How many {cls_pl} does this room have?",
        "would_i_find|contain|How many {cls_pl} would I find {here}?",
        "count_the|imperative|Count the {cls_pl} {here}.",
        "tell_me_how_many|imperative|Tell me how many {cls_pl} there are.",
        "give_number|imperative|Give me the number of {cls_pl} {here}.",
        "rooms_count|possessive|What's the room's count of {cls_pl}?",
        "rooms_total|possessive|What is this room's total of {cls_pl}?",
        "polite|polite|Could you count the {cls_pl} for me?",
        "casual|casual|how many {cls_pl}?",
        "fronted|fronted|{cls_pl}: how many are there?",
    ),
    "colour": (
        "what_colour_is|question|What {colour_w} is {ref}?",
        "colour_of|question|What is the {colour_w} of {ref}?",
        "which_colour_have|question|Which {colour_w} does {ref} have?",
        "would_you_say|question|What {colour_w} would you say {ref} is?",
        "painted|question|What {colour_w} is {ref} painted?",
        "tell_me|imperative|Tell me the {colour_w} of {ref}.",
        "name_colour|imperative|Name the {colour_w} of {ref}.",
        "one_word|imperative|Describe the {colour_w} of {ref} in one word.",
        "possessive_what|possessive|What is {ref_s} {colour_w}?",
        "possessive_tell|possessive|Tell me {ref_s} {colour_w}.",
        "possessive_surface|possessive|What {colour_w} is {ref_s} surface?",
        "polite|polite|Could you tell me what {colour_w} {ref} is?",
        "know|polite|Do you know the {colour_w} of {ref}?",
        "casual|casual|what {colour_w}'s {ref}?",
        "fronted|fronted|{ref}: what {colour_w} is it?",
        "fronted_about|fronted|About {ref}, which {colour_w} is it?",
    ),
    "class_on": (
        "what_is_on|question|What is on {ref}?",
        "placed_on_top|question|What is placed on top of {ref}?",
        "sits_on|question|What {thing} sits on {ref}?",
        "can_be_found|contain|What can be found on {ref}?",
        "tell_me|imperative|Tell me what is on {ref}.",
        "name|imperative|Name the {thing} on {ref}.",
        "identify|imperative|Identify the {thing} resting on {ref}.",
        "possessive|possessive|What is on {ref_s} top?",
        "polite|polite|Could you tell me what's on {ref}?",
        "casual|casual|what's on top of {ref}?",
        "fronted|fronted|{ref}: what is on it?",
    ),
    "class_colour": (
        "what_is|question|What is the {colour} {thing}?",
        "which_is|question|Which {thing} is {colour}?",
        "in_room|question|What is the {colour} {thing} {here}?",
        "what_kind|question|What kind of {thing} is {colour}?",
        "would_be|question|What would the {colour} {thing} be?",
        "name|imperative|Name the {colour} {thing}.",
        "tell_me|imperative|Tell me what the {colour} {thing} is.",
        "identify|imperative|Identify the {colour} {thing}.",
        "possessive|possessive|What is the {colour} {thing}'s category?",
        "polite|polite|Could you identify the {colour} {thing}?",
        "casual|casual|what's that {colour} {thing}?",
        "fronted|fronted|The {colour} {thing}: what is it?",
    ),
    "class_colour_on": (
        "what_is|question|What is the {colour} {thing} on {ref}?",
        "which_is|question|Which {colour} {thing} is on {ref}?",
        "name|imperative|Name the {colour} {thing} on {ref}.",
        "tell_me|imperative|Tell me what the {colour} {thing} on {ref} is.",
        "polite|polite|Could you identify the {colour} {thing} on {ref}?",
        "fronted|fronted|On {ref}, what is the {colour} {thing}?",
    ),
    "class_colour_floor": (
        "standing|question|What is the {colour} {thing} standing on the floor?",
        "furniture|question|Which {colour} piece of furniture stands on the floor?",
        "sits|question|What {colour} {thing} sits on the floor?",
        "name|imperative|Name the {colour} {thing} on the floor.",
        "tell_me|imperative|Tell me which {colour} {thing} is on the floor.",
        "fronted|fronted|On the floor, what is the {colour} {thing}?",
    ),
    "class_largest": (
        "what_is|question|What is the {biggest} {thing} in the room?",
        "which_is|question|Which {thing} is the {biggest}?",
        "name|imperative|Name the {biggest} {thing} {here}.",
        "tell_me|imperative|Tell me which {thing} is the {biggest}.",
        "possessive|possessive|What is the room's {biggest} {thing}?",
        "polite|polite|Could you tell me the {biggest} {thing} {here}?",
        "casual|casual|what's the {biggest} thing you can see?",
        "fronted|fronted|Of everything {here}, what is the {biggest}?",
    ),
    "class_smallest": (
        "what_is|question|What is the {smallest} {thing} in the room?",
        "which_is|question|Which {thing} is the {smallest} {here}?",
        "name|imperative|Name the {smallest} {thing} {here}.",
        "tell_me|imperative|Tell me which {thing} is the {smallest}.",
        "possessive|possessive|What is the room's {smallest} {thing}?",
        "polite|polite|Could you tell me the {smallest} {thing} {here}?",
        "casual|casual|what's the {smallest} thing you can see?",
        "fronted|fronted|Of everything {here}, what is the {smallest}?",
    ),
    "size_bigger": (
        "which_is|question|Which is {big}, {ref} or {ref2}?",
        "which_one|question|Which one is {big}: {ref} or {ref2}?",
        "is_or|question|Is {ref} or {ref2} {big}?",
        "more_space|question|Which takes up more space, {ref} or {ref2}?",
        "tell_me|imperative|Tell me which is {big}, {ref} or {ref2}.",
        "name|imperative|Name the {big} one: {ref} or {ref2}.",
        "polite|polite|Could you tell me whether {ref} or {ref2} is {big}?",
        "casual|casual|of {ref} and {ref2}, which one's {big}?",
        "fronted|fronted|{ref} or {ref2}: which is {big}?",
        "between|fronted|Between {ref} and {ref2}, which is {big}?",
    ),
    "size_smaller": (
        "which_is|question|Which is {small}, {ref} or {ref2}?",
        "which_one|question|Which one is {small}: {ref} or {ref2}?",
        "is_or|question|Is {ref} or {ref2} {small}?",
        "less_space|question|Which takes up less space, {ref} or {ref2}?",
        "tell_me|imperative|Tell me which is {small}, {ref} or {ref2}.",
        "name|imperative|Name the {small} one: {ref} or {ref2}.",
        "polite|polite|Could you tell me whether {ref} or {ref2} is {small}?",
        "casual|casual|of {ref} and {ref2}, which one's {small}?",
        "fronted|fronted|{ref} or {ref2}: which is {small}?",
        "between|fronted|Between {ref} and {ref2}, which is {small}?",
    ),
    "size_tallest": (
        "what_is|question|What is the {tall} {thing} in the room?",
        "which_is|question|Which {thing} is the {tall}?",
        "furniture|question|What is the {tall} piece of furniture {here}?",
        "reaches|question|Which {thing} reaches the highest?",
        "name|imperative|Name the {tall} {thing}.",
        "tell_me|imperative|Tell me which {thing} is the {tall}.",
        "possessive|possessive|What is the room's {tall} {thing}?",
        "polite|polite|Could you tell me the {tall} {thing} {here}?",
        "fronted|fronted|The {tall} {thing} {here}: what is it?",
    ),
    "size_yes_no": (
        "is_than|question|Is {ref} {big} than {ref2}?",
        "more_space|question|Does {ref} take up more space than {ref2}?",
        "tell_me|imperative|Tell me if {ref} is {big} than {ref2}.",
        "check|imperative|Check whether {ref} is {big} than {ref2}.",
        "possessive|possessive|Is {ref_s} size greater than that of {ref2}?",
        "polite|polite|Would you say {ref} is {big} than {ref2}?",
        "fronted|fronted|{ref}: is it {big} than {ref2}?",
    ),
    "spatial_viewpoint": (
        "standing_at|question|Standing at the {place} and facing into the room, is {ref} to the left or to the "
        "right of {ref2}?",
        "seen_from|question|Seen from the {place}, is {ref} left or right of {ref2}?",
        "if_you_stand|question|If you stand at the {place} looking into the room, is {ref} on the left or right "
        "of {ref2}?",
        "back_to|question|With your back to the {place}, is {ref} to the left or the right of {ref2}?",
        "tell_me|imperative|From the {place}, tell me whether {ref} is left or right of {ref2}.",
        "say|imperative|Say whether {ref} is left or right of {ref2}, as seen from the {place}.",
        "possessive|possessive|From the {place}'s point of view, is {ref} left or right of {ref2}?",
        "polite|polite|Could you tell me, viewed from the {place}, whether {ref} is left or right of {ref2}?",
        "fronted|fronted|Looking in from the {place}: {ref}, is it left or right of {ref2}?",
        "casual|casual|from the {place}, {ref} left or right of {ref2}?",
    ),
    "spatial_support": (
        "standing_on|question|What is {ref} standing on?",
        "on_top_of|question|What is {ref} on top of?",
        "under|question|Which {thing} is under {ref}?",
        "resting_on|question|What is {ref} resting on?",
        "underneath|question|What is underneath {ref}?",
        "tell_me|imperative|Tell me what {ref} stands on.",
        "name|imperative|Name the {thing} beneath {ref}.",
        "possessive|possessive|What serves as {ref_s} support?",
        "possessive_base|possessive|What is {ref_s} base standing on?",
        "polite|polite|Could you tell me what {ref} is placed on?",
        "casual|casual|what's holding up {ref}?",
        "fronted|fronted|{ref}: what is it sitting on?",
    ),
    "spatial_next_to": (
        "what_is|question|What is {next_to} {ref}?",
        "which_thing|question|Which {thing} is {next_to} {ref}?",
        "located|question|What is located {next_to} {ref}?",
        "stands|question|What {thing} stands {next_to} {ref}?",
        "find|contain|What would I find {next_to} {ref}?",
        "tell_me|imperative|Tell me what is {next_to} {ref}.",
        "name|imperative|Name the {thing} {next_to} {ref}.",
        "possessive|possessive|What is {ref_s} neighbour?",
        "possessive_side|possessive|What stands at {ref_s} side?",
        "polite|polite|Could you tell me what's {next_to} {ref}?",
        "casual|casual|what's {next_to} {ref}?",
        "fronted|fronted|{ref}: what is {next_to} it?",
    ),
    "spatial_between": (
        "what_is|question|What is between {ref} and {ref2}?",
        "located|question|Which {thing} is located between {ref} and {ref2}?",
        "in_between|question|What stands in between {ref} and {ref2}?",
        "separates|question|What separates {ref} from {ref2}?",
        "tell_me|imperative|Tell me what is between {ref} and {ref2}.",
        "name|imperative|Name the {thing} in between {ref} and {ref2}.",
        "polite|polite|Could you tell me what's between {ref} and {ref2}?",
        "fronted|fronted|Between {ref} and {ref2}, what is there?",
    ),
    "spatial_next_to_yes_no": (
        "is_it|question|Is {ref} {next_to} {ref2}?",
        "stand|question|Does {ref} stand {next_to} {ref2}?",
        "find|contain|Would I find {ref} {next_to} {ref2}?",
        "tell_me|imperative|Tell me whether {ref} is {next_to} {ref2}.",
        "check|imperative|Check if {ref} is {next_to} {ref2}.",
        "polite|polite|Could you tell me if {ref} is {next_to} {ref2}?",
        "fronted|fronted|{ref}: is it {next_to} {ref2}?",
    ),
    "distance": (
        "how_far|question|How far is {ref} from {ref2}?",
        "distance_between|question|What is the distance between {ref} and {ref2}?",
        "how_many_meters|question|How many meters is {ref} away from {ref2}?",
        "apart|question|Roughly how far apart are {ref} and {ref2}?",
        "separate|question|How many meters separate {ref} and {ref2}?",
        "tell_me|imperative|Tell me the distance from {ref} to {ref2}.",
        "measure|imperative|Measure the distance between {ref} and {ref2}.",
        "possessive|possessive|What is {ref_s} distance from {ref2}?",
        "polite|polite|Could you tell me how far {ref} is from {ref2}?",
        "casual|casual|how far from {ref} to {ref2}?",
        "fronted|fronted|{ref} and {ref2}: how far apart are they?",
    ),
    "nearest": (
        "what_is_the|question|What is the {near} {thing} to {ref}?",
        "which_thing|question|Which {thing} is {near} to {ref}?",
        "what_is|question|What is {near} to {ref}?",
        "sits|question|Which {thing} sits {near} to {ref}?",
        "lies|question|What lies {near} to {ref}?",
        "tell_me|imperative|Tell me the {near} {thing} to {ref}.",
        "name|imperative|Name the {thing} {near} to {ref}.",
        "possessive|possessive|What is {ref_s} {near} neighbour?",
        "polite|polite|Could you tell me what's {near} to {ref}?",
        "fronted|fronted|{ref}: what is {near} to it?",
    ),
    "farthest": (
        "what_is_the|question|What is the {far} {thing} from {ref}?",
        "which_thing|question|Which {thing} is {far} away from {ref}?",
        "what_is|question|What is {far} from {ref}?",
        "sits|question|Which {thing} sits {far} from {ref}?",
        "lies|question|What lies {far} from {ref}?",
        "tell_me|imperative|Tell me the {far} {thing} from {ref}.",
        "name|imperative|Name the {thing} {far} from {ref}.",
        "possessive|possessive|What is the {far} {thing} from {ref_s} spot?",
        "polite|polite|Could you tell me what's {far} from {ref}?",
        "fronted|fronted|{ref}: what is {far} from it?",
    ),
    "situated_side": (
        "on_my_left|question|Is {ref} on my left or on my right?",
        "to_my|question|Is {ref} to my left or right?",
        "which_side|question|Which side is {ref} on, left or right?",
        "from_position|question|From my position, is {ref} left or right?",
        "find|contain|Would I find {ref} on my left or on my right?",
        "tell_me|imperative|Tell me whether {ref} is on my left or my right.",
        "say|imperative|Say if {ref} is to my left or to my right.",
        "polite|polite|Could you tell me if {ref} is to my left or to my right?",
        "fronted|fronted|{ref}: left or right of me?",
        "casual|casual|{ref} left or right?",
    ),
    "situated_sector": (
        "relative|question|Where is {ref} relative to me?",
        "direction|question|In which direction is {ref} from me?",
        "enumerate|question|Is {ref} in front of me, behind me, on my left or on my right?",
        "which_way|question|Which way is {ref} from my position?",
        "look|question|Which direction should I look to see {ref}?",
        "find|contain|Where would I find {ref} relative to me?",
        "tell_me|imperative|Tell me where {ref} is relative to me.",
        "polite|polite|Could you tell me which direction {ref} is in?",
        "fronted|fronted|{ref}: which direction is it from me?",
        "relative_fronted|fronted|Relative to me, where is {ref}?",
    ),
    "situated_object": (
        "what_is_the|question|What is the {near} {thing} {where}?",
        "which_thing|question|Which {thing} is {near} {where}?",
        "first|question|What's the first thing {where}?",
        "see_first|question|What do I see first {where}?",
        "find|contain|What would I find {where}, closest to me?",
        "tell_me|imperative|Tell me the {near} {thing} {where}.",
        "name|imperative|Name the {near} {thing} {where}.",
        "polite|polite|Could you tell me what's {near} {where}?",
        "fronted|fronted|{where}, what is the {near} {thing}?",
    ),
    "situated_count": (
        "how_many_are|question|How many {cls_pl} are {where}?",
        "number_of|question|What is the number of {cls_pl} {where}?",
        "would_i_see|question|How many {cls_pl} would I see {where}?",
        "can_i_find|contain|How many {cls_pl} can I find {where}?",
        "count|imperative|Count the {cls_pl} {where}.",
        "tell_me|imperative|Tell me how many {cls_pl} are {where}.",
        "polite|polite|Could you count the {cls_pl} {where} for me?",
        "casual|casual|how many {cls_pl} {where}?",
        "fronted|fronted|{where}, how many {cls_pl} are there?",
    ),
    "situation_standing": (
        "by_facing|statement|I am standing by {ref} facing {ref2}.",
        "next_to_looking|statement|I am standing next to {ref} and looking at {ref2}.",
        "near_facing|statement|I am near {ref}, facing {ref2}.",
        "im_at|statement|I'm at {ref}, looking towards {ref2}.",
    ),
    "situation_sitting": (
        "sitting_facing|statement|I am sitting on {ref} facing {ref2}.",
        "sitting_looking|statement|I am sitting on {ref}, looking towards {ref2}.",
        "seated|statement|I'm seated on {ref} and I face {ref2}.",
    ),
    "planning": (
        "get_to|question|How do I get to {ref}?",
        "reach|question|How can I reach {ref} from here?",
        "which_way|question|Which way should I go to get to {ref}?",
        "tell_me|imperative|Tell me how to get to {ref}.",
        "guide|imperative|Guide me to {ref}.",
    ),
    "object_caption": (
        "describe|imperative|Describe {ref}.",
        "short_description|imperative|Give a short description of {ref}.",
        "look_like|question|What does {ref} look like and where is it?",
        "tell_me_about|imperative|Tell me about {ref}.",
    ),
    "scene_caption": (
        "describe|imperative|Describe the room.",
        "summary|imperative|Give a summary of this scene.",
        "look_like|question|What does this room look like?",
        "layout|imperative|Describe the layout of the room.",
    ),
    "followup_colour": (
        "what_colour|question|What {colour_w} is it?",
        "and_its|fronted|And its {colour_w}?",
        "tell_me|imperative|Tell me its {colour_w}.",
    ),
    "followup_count": (
        "and_how_many|question|And how many of them are there?",
        "how_many_are|question|How many are there?",
        "count_them|imperative|Count them for me.",
    ),
    "followup_next_to": (
        "what_is|question|What is {next_to} it?",
        "and_what|fronted|And what is {next_to} it?",
        "tell_me|imperative|Tell me what stands {next_to} it.",
    ),
    "followup_support": (
        "standing_on|question|What is it standing on?",
        "on_top_of|fronted|And what is it on top of?",
        "tell_me|imperative|Tell me what it rests on.",
    ),
    "opener_existence": (
        "is_there|exist|Is there {a_cls} around here?",
        "do_you_see|exist|Do you see {a_cls}?",
        "room_have|contain|Does this room have {a_cls} at all?",
    ),
    "last_seen": (
        "when_last|question|When did you last see {ref}?",
        "when_was|question|When was {ref} last seen?",
        "last_time|question|What was the last time you saw {ref}?",
        "spot|question|When did you last spot {ref}?",
        "how_long|question|How long ago did you see {ref}?",
        "tell_me|imperative|Tell me when you last saw {ref}.",
        "remind|imperative|Remind me when you last saw {ref}.",
        "possessive_time|possessive|What is {ref_s} last-seen time?",
        "possessive_sighting|possessive|When was {ref_s} last sighting?",
        "polite|polite|Could you tell me when you last saw {ref}?",
        "casual|casual|when'd you last see {ref}?",
    ),
    "opener_class_colour": (
        "what_is|question|What is that {colour} {thing} over there?",
        "which_thing|question|Which thing here is {colour}?",
        "name|imperative|Can you name the {colour} {thing}?",
    ),
}

KEY_TYPES: dict[str, str] = {
    "existence": "existence", "counting": "counting", "colour": "colour",
    "class_on": "class", "class_colour": "class", "class_colour_on": "class", "class_colour_floor": "class",
    "class_largest": "class", "class_smallest": "class",
    "size_bigger": "size", "size_smaller": "size", "size_tallest": "size", "size_yes_no": "size",
    "spatial_viewpoint": "spatial_relation", "spatial_support": "spatial_relation",
    "spatial_next_to": "spatial_relation", "spatial_between": "spatial_relation",
    "spatial_next_to_yes_no": "spatial_relation",
    "distance": "distance", "nearest": "nearest", "farthest": "farthest", "last_seen": "last_seen",
    "situated_side": "situated_direction", "situated_sector": "situated_direction",
    "situated_object": "situated_object", "situated_count": "situated_counting",
    "situation_standing": "situation", "situation_sitting": "situation", "planning": "planning",
    "object_caption": "object_caption", "scene_caption": "scene_caption",
    "followup_colour": "dialogue", "followup_count": "dialogue", "followup_next_to": "dialogue",
    "followup_support": "dialogue", "opener_existence": "dialogue", "opener_class_colour": "dialogue",
}
"""Phrasing key → the question type (or task) it phrases."""

WORD_SLOTS: dict[str, tuple[str, ...]] = {
    "colour_w": ("colour", "color"),
    "thing": ("object", "thing", "item"),
    "here": ("in the room", "in this room", "here", "in here"),
    "next_to": ("next to", "beside", "right next to", "right beside", "by"),
    "big": ("bigger", "larger"),
    "small": ("smaller",),
    "biggest": ("biggest", "largest"),
    "smallest": ("smallest", "tiniest"),
    "tall": ("tallest", "highest"),
    "near": ("closest", "nearest"),
    "far": ("farthest", "furthest"),
}
"""Word slots filled with a random synonym (part of the wording, never of an answer)."""

LEADS: tuple[str, ...] = ("hey robot, ", "robot, ", "ok, ", "quick question: ", "hi, ", "so ", "um, ")
"""Leading words put before some questions."""

PROTECTED = frozenset({"left", "right", "front", "behind", "bigger", "larger", "smaller", "biggest", "largest",
                       "smallest", "tallest", "highest", "closest", "nearest", "farthest", "furthest", "between",
                       "floor", "door", "window", "colour", "color", "many", "meters", "more", "less", "there",
                       "where", "which", "what"})
"""Words never given a typo (relation and comparison words whose misspelling could change the question)."""


@cache
def families() -> dict[str, tuple[Family, ...]]:
    """Key → its phrasing families (ids unique)."""
    out = {}
    for key, lines in _TABLE.items():
        fams = []
        for line in lines:
            name, form, pattern = line.split("|", 2)
            fams.append(Family(key, name, form, pattern))
        out[key] = tuple(fams)
        assert len({f.name for f in fams}) == len(fams), key
    return out


def family_by_id(family_id: str) -> Family:
    """The family with this id (KeyError if none)."""
    key, _, _ = family_id.partition(".")
    for f in families()[key]:
        if f.id == family_id:
            return f
    raise KeyError(family_id)


def _rank(family: Family) -> int:
    """Seeded hash rank of a family (depends on SPLIT_SEED and the id only)."""
    return int.from_bytes(hashlib.blake2b(f"{SPLIT_SEED}:{family.id}".encode(), digest_size=8).digest(), "little")


@cache
def heldout_families() -> frozenset[str]:
    """Ids of the held-out (unseen-wording) families.

    The rule, per key, by seeded hash rank: for each form in :data:`FORCED_FORMS` of which the key has at least
    two families, the best-ranked such family; then the best-ranked others until ``ceil(HELDOUT_SHARE · n)``.
    """
    held: set[str] = set()
    for fams in families().values():
        ranked = sorted(fams, key=_rank)
        mine: list[Family] = []
        for form in FORCED_FORMS:
            of_form = [f for f in ranked if f.form == form]
            if len(of_form) >= 2:
                mine.append(of_form[0])
        for f in ranked:
            if len(mine) >= math.ceil(HELDOUT_SHARE * len(fams)):
                break
            if f not in mine:
                mine.append(f)
        held.update(f.id for f in mine)
    return frozenset(held)


def wording_of(family_id: str) -> str:
    """'unseen' for a held-out family, else 'seen'."""
    return "unseen" if family_id in heldout_families() else "seen"


def surface_skeletons(pattern: str) -> set[str]:
    """Skeletons of every spelling of a pattern's word slots (the slots filled from :data:`WORD_SLOTS`): the
    surface forms a family can take once its referring expressions, classes and places are removed."""
    out = {pattern}
    for slot, words in WORD_SLOTS.items():
        out = {p.replace("{" + slot + "}", w) for p in out for w in words} if any("{" + slot + "}" in p
                                                                              for p in out) else out
    return {skeleton(p) for p in out}


def skeleton(pattern: str) -> str:
    """A pattern with its slot fillers removed: lowercase words, every slot one '{}', no punctuation."""
    text = re.sub(r"\{[a-z_0-9]+\}", " {} ", pattern.lower())
    text = re.sub(r"[^a-z{}' ]", " ", text)
    return " ".join(text.split())


class Phrase(str):
    """A generated text that remembers its phrasing family (``family``)."""

    family: str = ""

    def __new__(cls, text: str, family: str) -> Phrase:
        obj = super().__new__(cls, text)
        obj.family = family
        return obj


@dataclass
class PhrasingConfig:
    """Surface variation of generated questions."""

    lead_p: float = 0.12
    """Probability of a leading word ('hey robot, ')."""
    please_p: float = 0.08
    """Probability of a trailing 'please'."""
    lowercase_p: float = 0.2
    """Probability of an all-lowercase question (else the first letter is capitalised)."""
    drop_punct_p: float = 0.12
    """Probability of dropping the final punctuation mark."""
    typo_p: float = 0.05
    """Probability of one light typo (two neighbouring letters swapped) in the pattern's own words."""


class Phraser:
    """Draws phrasings with its own rng, so the facts a generator picks never depend on the wording."""

    def __init__(self, rng: np.random.Generator, wording: str = "seen", config: PhrasingConfig | None = None,
                 decorate: bool = True) -> None:
        if wording not in WORDINGS:
            raise ValueError(f"wording must be one of {WORDINGS}, got {wording!r}")
        self.rng = rng
        self.wording = wording
        self.cfg = config or PhrasingConfig()
        self.decorate = decorate

    def choose(self, options: tuple[str, ...] | list[str]) -> str:
        """One option, uniformly."""
        return T.choose(self.rng, options)

    def synonym(self, name: str) -> str:
        """A random phrasing of a canonical class or place name."""
        return T.synonym(name, self.rng)

    def colour(self, colour: str) -> str:
        """A random spelling of a colour name."""
        return T.colour_word(colour, self.rng)

    def allowed(self, key: str) -> tuple[Family, ...]:
        """The families of ``key`` this phraser may use."""
        fams = families()[key]
        if self.wording == "all":
            return fams
        held = heldout_families()
        return tuple(f for f in fams if (f.id in held) == (self.wording == "unseen"))

    def fill(self, key: str, **slots: str) -> Phrase:
        """A phrasing of ``key``: a family drawn from the allowed ones, slots filled, then decorated."""
        fam = self.choose_family(key)
        pattern = fam.pattern
        if self.decorate and self.rng.random() < self.cfg.typo_p:
            pattern = self._typo(pattern)
        words = {k: self.choose(v) for k, v in WORD_SLOTS.items() if "{" + k + "}" in pattern}
        if "ref" in slots:
            slots = {**slots, "ref_s": possessive(slots["ref"])}
        text = pattern.format(**slots, **words)
        return Phrase(self._decorate(text, fam.form) if self.decorate else _capitalise(text), fam.id)

    def choose_family(self, key: str) -> Family:
        """One allowed family of ``key``, uniformly."""
        fams = self.allowed(key)
        return fams[int(self.rng.integers(len(fams)))]

    def _typo(self, pattern: str) -> str:
        """Swap two neighbouring letters inside one unprotected literal word of ≥ 4 letters."""
        parts = re.split(r"(\{[a-z_0-9]+\})", pattern)
        spots = [(i, m) for i, p in enumerate(parts) if not p.startswith("{")
                 for m in re.finditer(r"[A-Za-z]{4,}", p) if m.group().lower() not in PROTECTED]
        if not spots:
            return pattern
        i, m = spots[int(self.rng.integers(len(spots)))]
        word = m.group()
        k = int(self.rng.integers(1, len(word) - 1))
        word = word[:k] + word[k + 1] + word[k] + word[k + 2:]
        parts[i] = parts[i][: m.start()] + word + parts[i][m.end():]
        return "".join(parts)

    def _decorate(self, text: str, form: str) -> str:
        """Leading word, 'please', capitalisation and final punctuation."""
        rng, cfg = self.rng, self.cfg
        if form != "statement" and rng.random() < cfg.please_p:
            text = re.sub(r"([?.!]?)$", r", please\1", text, count=1)
        if form != "statement" and rng.random() < cfg.lead_p:
            text = self.choose(LEADS) + text[:1].lower() + text[1:]
        text = text.lower() if rng.random() < cfg.lowercase_p else _capitalise(text)
        if form != "statement" and rng.random() < cfg.drop_punct_p:
            text = text.rstrip("?.!")
        return text


def _capitalise(text: str) -> str:
    """First letter upper case."""
    return text[:1].upper() + text[1:]


def possessive(ref: str) -> str:
    """'the lamp' → "the lamp's"; 'the boxes' → "the boxes'"."""
    return ref + ("'" if ref.endswith("s") and not ref.endswith("ss") else "'s")


