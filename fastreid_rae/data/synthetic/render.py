"""Drawing a pedestrian (and what may stand in front of them) onto a crop-sized canvas.

The person is built from body-relative shapes (head, torso, limbs, garments, accessories), so
the same Appearance drawn from another viewpoint or at another size stays the same person.
The viewpoint decides what is visible: a backpack is a big block from the back, two straps from
the front and a bump behind the shoulders from the side; an open jacket's inner shirt and a chest
logo only show from the front; a handbag hides behind the body when carried on the far side.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .identities import Appearance, Garment
from .shapes import Canvas, capsule, cylinder_shade, ellipse, restrict, rounded_box, trapezoid

VIEWS = ("front", "back", "left", "right")


@dataclass(frozen=True)
class Pose:
    view: str              # front / back / left / right (the way the person faces)
    stride: float          # -1..1: how far apart the feet are, and which leg leads
    arm_swing: float       # -1..1
    height: float          # person height / crop height (detector box tightness)
    centre_x: float        # horizontal centre, fraction of crop width
    feet_y: float          # soles, fraction of crop height (> 1: feet cut off)


@dataclass(frozen=True)
class Occluder:
    kind: str              # pole / object / passerby
    colour: tuple
    x: float               # horizontal centre, fraction of crop width
    top: float             # upper edge, fraction of crop height (object only)
    size: float            # width, fraction of crop width


def _darker(colour, factor=0.7):
    return tuple(c * factor for c in colour)


def _texture(garment: Garment, patch, origin_x, origin_y, unit, front_visible: bool):
    """The garment's colour at each pixel of a patch, in body-relative coordinates (unit = height)."""
    base = np.asarray(garment.colour, np.float32)
    accent = np.asarray(garment.accent, np.float32)
    uu = (patch.xx - origin_x) / unit
    vv = (patch.yy - origin_y) / unit
    period = garment.pattern_period
    if garment.pattern == "stripes":
        mask = ((vv / period) % 1.0) < 0.45
    elif garment.pattern == "checks":
        mask = (np.floor(uu / period) + np.floor(vv / period)) % 2 == 0
    elif garment.pattern == "two_tone" and front_visible:   # open jacket over another shirt
        mask = (np.abs(uu) < 0.032) & (vv > 0.0)
    elif garment.pattern == "logo" and front_visible:        # a chest print
        mask = (np.abs(uu - 0.01) < 0.045) & (vv > 0.05) & (vv < 0.12)
    else:
        return base
    mask = np.broadcast_to(mask, patch.alpha.shape)
    return np.where(mask[..., None], accent, base)


class PersonPainter:
    """Draws one Appearance in one Pose; methods follow the back-to-front painting order."""

    def __init__(self, canvas: Canvas, look: Appearance, pose: Pose):
        self.c, self.look, self.pose = canvas, look, pose
        body = look.body
        P = pose.height * canvas.height                 # person height in pixels
        self.P = P
        self.feet = pose.feet_y * canvas.height
        self.top = self.feet - P
        self.cx = pose.centre_x * canvas.width
        self.side = pose.view in ("left", "right")
        self.facing = {"left": -1, "right": 1}.get(pose.view, 0)
        self.head_h = body.head * P
        self.shoulder_y = self.top + self.head_h * 1.12
        self.hip_y = self.feet - body.legs * P
        width_scale = 0.58 if self.side else 1.0        # a body is thinner seen from the side
        self.shoulder_half = body.shoulders * P / 2 * width_scale
        self.hip_half = body.hips * P / 2 * (0.75 if self.side else 1.0)
        self.arm_r = body.limbs * P
        self.leg_r = self.arm_r * 1.35
        self.lean = self.facing * body.slouch * P        # side view: upper body leans forward
        self.hem_y = self.hip_y + 0.55 * (self.feet - self.hip_y) if look.coat else self.hip_y + 0.03 * P

    # -- geometry helpers ------------------------------------------------------------------
    def _ankles(self):
        """(x, y) of each ankle; near leg second in side views."""
        s, P, ankle_y = self.pose.stride, self.P, self.feet - 0.03 * self.P
        if self.side:
            reach = 0.2 * P * s
            return [(self.cx - reach, ankle_y), (self.cx + reach, ankle_y)]
        spread = self.hip_half * 0.5
        # Seen from front/back the stride is in depth: the leading foot looks a bit lower.
        return [(self.cx - spread - 0.01 * P, ankle_y + 0.012 * P * s),
                (self.cx + spread + 0.01 * P, ankle_y - 0.012 * P * s)]

    def _hips(self):
        if self.side:
            return [(self.cx, self.hip_y), (self.cx, self.hip_y)]
        spread = self.hip_half * 0.5
        return [(self.cx - spread, self.hip_y), (self.cx + spread, self.hip_y)]

    def _hands(self):
        P, swing = self.P, self.pose.arm_swing
        hand_y = self.shoulder_y + 0.36 * P
        if self.side:
            x = self.cx + self.lean * 0.5
            return [(x - 0.13 * P * swing, hand_y), (x + 0.13 * P * swing, hand_y)]
        out = self.shoulder_half + self.arm_r * 0.2
        return [(self.cx - out - 0.01 * P, hand_y - 0.01 * P * swing),
                (self.cx + out + 0.01 * P, hand_y + 0.01 * P * swing)]

    def _shoulders(self):
        x = self.cx + self.lean
        if self.side:
            return [(x, self.shoulder_y + self.arm_r), (x, self.shoulder_y + self.arm_r)]
        inset = self.shoulder_half - self.arm_r * 0.9
        return [(x - inset, self.shoulder_y + self.arm_r), (x + inset, self.shoulder_y + self.arm_r)]

    # -- parts -----------------------------------------------------------------------------
    def shadow(self):
        patch = ellipse(self.c, self.cx, self.feet, self.hip_half * 2.2, 0.025 * self.P)
        self.c.paint(patch, (0.0, 0.0, 0.0), opacity=0.3)

    def leg(self, hip, ankle, dim=1.0):
        look = self.look
        patch = capsule(self.c, hip[0], hip[1], ankle[0], ankle[1], self.leg_r)
        if patch is None:
            return
        shade = cylinder_shade(patch.extra["d"], 0.35) * dim
        self.c.paint(patch, look.skin, shade)
        if look.lower_kind == "trousers":
            cloth = patch
        elif look.lower_kind == "shorts":
            cloth = restrict(patch, patch.extra["t"] < 0.42)
        else:  # skirt: the skirt itself is drawn over the hips later
            cloth = None
        if cloth is not None:
            texture = _texture(look.lower, cloth, self.cx, self.hip_y, self.P, False)
            self.c.paint(cloth, texture, shade)
        forward = self.facing * 0.35 * self.leg_r
        shoe = ellipse(self.c, ankle[0] + forward, ankle[1] + 0.012 * self.P,
                       self.leg_r * (1.45 if self.side else 1.1), self.leg_r * 0.75)
        self.c.paint(shoe, look.shoes, None if shoe is None else dim * cylinder_shade(shoe.extra["ny"], 0.3))

    def legs(self):
        hips, ankles = self._hips(), self._ankles()
        far_dim = 0.78 if self.side else 1.0
        self.leg(hips[0], ankles[0], far_dim)
        self.leg(hips[1], ankles[1])

    def lower_garment(self):
        look, P = self.look, self.P
        if look.lower_kind == "skirt":
            patch = trapezoid(self.c, self.hip_y - 0.03 * P, self.hip_y + 0.2 * P,
                              self.hip_half * 1.02, self.hip_half * 1.5, self.cx, self.cx)
        else:  # the waist block joining both legs
            patch = trapezoid(self.c, self.hip_y - 0.03 * P, self.hip_y + 0.07 * P,
                              self.hip_half * 1.02, self.hip_half * 1.05, self.cx, self.cx)
        if patch is not None:
            texture = _texture(look.lower, patch, self.cx, self.hip_y, P, False)
            self.c.paint(patch, texture, cylinder_shade(patch.extra["u"], 0.25))

    def torso(self):
        look, P = self.look, self.P
        front = self.pose.view == "front"
        hem_half = self.hip_half * (1.25 if look.coat else 1.05)
        patch = trapezoid(self.c, self.shoulder_y, self.hem_y, self.shoulder_half, hem_half,
                          self.cx + self.lean, self.cx - 0.2 * self.lean)
        if patch is None:
            return
        texture = _texture(look.upper, patch, self.cx, self.shoulder_y, P, front)
        self.c.paint(patch, texture, cylinder_shade(patch.extra["u"], 0.3))

    def neck_and_head(self):
        look, P = self.look, self.P
        head_x = self.cx + self.lean * 1.2
        head_cy = self.top + self.head_h / 2
        rx, ry = self.head_h * 0.4, self.head_h / 2
        if look.long_hair and self.pose.view != "back":  # strands falling beside the face
            sides = (-self.facing,) if self.side else (-1, 1)
            for sign in sides:
                x = head_x + sign * rx * 0.75
                strand = rounded_box(self.c, x - rx * 0.45, head_cy, x + rx * 0.45,
                                     self.shoulder_y + 0.06 * P, rx * 0.4)
                self.c.paint(strand, look.hair)
        neck = capsule(self.c, head_x, head_cy, self.cx + self.lean, self.shoulder_y, rx * 0.5)
        self.c.paint(neck, _darker(look.skin, 0.85))
        head = ellipse(self.c, head_x, head_cy, rx, ry)
        if head is None:
            return
        shade = cylinder_shade(head.extra["nx"], 0.25)
        if self.pose.view == "back":
            self.c.paint(head, look.hair, shade)
            return
        self.c.paint(head, look.skin, shade)
        nx, ny = head.extra["nx"], head.extra["ny"]
        if self.side:   # hair covers the back half of the head and the crown
            hair_mask = (nx * self.facing < -0.05) | (ny < -0.45)
        elif look.long_hair:   # a parting: hair over the crown and down both sides of the face
            hair_mask = (ny < -0.3) | (np.abs(nx) > 0.72)
        else:
            hair_mask = ny < -0.38
        self.c.paint(restrict(head, hair_mask), look.hair, shade)

    def hat(self):
        look = self.look
        if look.hat is None:
            return
        head_x = self.cx + self.lean * 1.2
        head_cy = self.top + self.head_h / 2
        rx, ry = self.head_h * 0.43, self.head_h / 2
        crown = ellipse(self.c, head_x, head_cy - ry * 0.15, rx, ry * 0.9)
        cut = -0.15 if look.hat_kind == "beanie" else -0.3
        if crown is not None:
            self.c.paint(restrict(crown, crown.extra["ny"] < cut), look.hat, cylinder_shade(crown.extra["nx"], 0.3))
        if look.hat_kind == "cap" and self.pose.view != "back":
            reach = self.facing * rx * 0.9
            brim = ellipse(self.c, head_x + reach, head_cy - ry * 0.35, rx * (0.8 if self.side else 1.1), ry * 0.14)
            self.c.paint(brim, _darker(look.hat, 0.8))

    def arm(self, shoulder, hand, dim=1.0):
        look = self.look
        patch = capsule(self.c, shoulder[0], shoulder[1], hand[0], hand[1], self.arm_r)
        if patch is None:
            return
        shade = cylinder_shade(patch.extra["d"], 0.3) * dim
        self.c.paint(patch, look.skin, shade)
        sleeve_end = 0.88 if (look.long_sleeves or look.coat) else 0.38
        sleeve = restrict(patch, patch.extra["t"] < sleeve_end)
        self.c.paint(sleeve, _texture(look.upper, sleeve, self.cx, self.shoulder_y, self.P, False), shade)

    def backpack_behind(self):
        """Side view: the pack sticks out behind the shoulders (drawn before the torso)."""
        look, P = self.look, self.P
        if look.backpack is None or not self.side:
            return
        back_x = self.cx + self.lean - self.facing * self.shoulder_half
        x0, x1 = sorted((back_x + self.facing * 0.04 * P, back_x - self.facing * 0.1 * P))
        patch = rounded_box(self.c, x0, self.shoulder_y + 0.02 * P, x1, self.hip_y - 0.04 * P, 0.03 * P)
        self.c.paint(patch, look.backpack, None if patch is None else cylinder_shade(patch.extra["u"], 0.35))

    def backpack_front(self):
        """Back view: a big block over the back; front view: two straps."""
        look, P = self.look, self.P
        if look.backpack is None or self.side:
            return
        if self.pose.view == "back":
            half = self.shoulder_half * 0.72
            patch = rounded_box(self.c, self.cx - half, self.shoulder_y + 0.025 * P,
                                self.cx + half, self.hip_y - 0.03 * P, 0.035 * P)
            self.c.paint(patch, look.backpack, None if patch is None else cylinder_shade(patch.extra["u"], 0.3))
            flap = rounded_box(self.c, self.cx - half * 0.7, self.shoulder_y + 0.12 * P,
                               self.cx + half * 0.7, self.shoulder_y + 0.2 * P, 0.02 * P)
            self.c.paint(flap, _darker(look.backpack, 0.75))
        else:
            for sign in (-1, 1):
                x = self.cx + sign * self.shoulder_half * 0.55
                strap = capsule(self.c, x, self.shoulder_y, x + sign * 0.01 * P,
                                self.shoulder_y + 0.2 * P, max(0.012 * P, 0.7))
                self.c.paint(strap, _darker(look.backpack, 0.7))

    def long_hair_over_back(self):
        look = self.look
        if look.long_hair and self.pose.view == "back":
            rx = self.head_h * 0.42
            x = self.cx + self.lean
            patch = rounded_box(self.c, x - rx, self.top + self.head_h * 0.5, x + rx,
                                self.shoulder_y + 0.09 * self.P, rx * 0.5)
            self.c.paint(patch, look.hair)

    def handbag(self, near: bool):
        """Drawn twice in the order: far-side bags before the body, near-side bags after."""
        look, P = self.look, self.P
        if look.handbag is None:
            return
        if self.side:
            visible_side = self.facing          # facing right shows the person's right side
            on_near_side = look.handbag_side == visible_side
            hand = self._hands()[1 if on_near_side else 0]
        else:
            on_near_side = True
            image_side = -look.handbag_side if self.pose.view == "front" else look.handbag_side
            hand = self._hands()[0 if image_side < 0 else 1]
        if on_near_side != near:
            return
        w = 0.055 * P
        patch = rounded_box(self.c, hand[0] - w, hand[1] - 0.01 * P, hand[0] + w, hand[1] + 0.11 * P, 0.015 * P)
        self.c.paint(patch, look.handbag, None if patch is None else cylinder_shade(patch.extra["u"], 0.25) * (1.0 if near else 0.8))

    def draw(self):
        shoulders, hands = self._shoulders(), self._hands()
        self.shadow()
        if self.side:
            self.handbag(near=False)
            self.arm(shoulders[0], hands[0], dim=0.75)   # the far arm, behind the body
            self.backpack_behind()
        self.legs()
        self.lower_garment()
        self.torso()
        self.long_hair_over_back()
        self.backpack_front()
        self.neck_and_head()
        self.hat()
        if self.side:
            self.arm(shoulders[1], hands[1])
        else:
            self.arm(shoulders[0], hands[0])
            self.arm(shoulders[1], hands[1])
        self.handbag(near=True)


def draw_person(canvas: Canvas, look: Appearance, pose: Pose) -> None:
    PersonPainter(canvas, look, pose).draw()


def draw_occluder(canvas: Canvas, occluder: Optional[Occluder]) -> None:
    """Something between camera and person: a pole, a bin/car/bike block, a passer-by."""
    if occluder is None:
        return
    h, w = canvas.height, canvas.width
    x, half = occluder.x * w, occluder.size * w / 2
    if occluder.kind == "pole":
        patch = rounded_box(canvas, x - half, -1, x + half, h + 1, 0)
        canvas.paint(patch, occluder.colour, None if patch is None else cylinder_shade(patch.extra["u"], 0.45))
    elif occluder.kind == "object":   # its top lit, its base in shadow
        top = occluder.top * h
        patch = rounded_box(canvas, x - half, top, x + half, h + 4, 0.08 * w)
        canvas.paint(patch, occluder.colour, None if patch is None else 1.0 - 0.3 * (patch.yy - top) / h)
    else:  # passer-by: an out-of-focus body entering from one side
        body = ellipse(canvas, x, 0.62 * h, half, 0.42 * h)
        canvas.paint(body, occluder.colour, None if body is None else cylinder_shade(body.extra["nx"], 0.3))
