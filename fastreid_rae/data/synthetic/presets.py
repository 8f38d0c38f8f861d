"""What each synthetic domain looks like (styles) and how much of it to make (size presets).

A *style* fixes both halves of the domain gap: the identity distribution (clothing palettes,
garment and accessory frequencies: the feature-level gap) and the cameras' pictures (colour
cast, contrast, scenes, resolution, blur, noise: the pixel-level gap). A *size preset* only says
how many identities and images to draw from a style, so `tiny`, `small` and `full` worlds of
one domain share their look.

Every value is a plain number, string or tuple so that styles are hashable, picklable for
worker processes and can be written verbatim into the world card.
"""
from dataclasses import dataclass
from typing import Dict, Tuple

# sRGB colours (0-255) that palettes refer to by name; names keep palettes readable.
COLOURS: Dict[str, Tuple[int, int, int]] = {
    "white": (232, 232, 226), "light_grey": (185, 185, 182), "grey": (125, 125, 125),
    "dark_grey": (62, 62, 66), "black": (24, 24, 27), "navy": (30, 40, 82),
    "blue": (40, 82, 172), "light_blue": (128, 170, 222), "denim": (58, 84, 128),
    "red": (192, 32, 38), "dark_red": (108, 22, 32), "pink": (236, 148, 180),
    "orange": (236, 122, 32), "yellow": (236, 210, 58), "lime": (170, 214, 72),
    "green": (48, 140, 62), "dark_green": (34, 70, 46), "olive": (108, 108, 52),
    "khaki": (190, 168, 118), "beige": (212, 192, 160), "brown": (110, 70, 40),
    "camel": (166, 120, 74), "purple": (112, 60, 142), "teal": (30, 128, 130),
    # hair and skin
    "hair_black": (22, 20, 20), "hair_dark_brown": (52, 36, 26), "hair_brown": (96, 64, 40),
    "hair_blonde": (196, 164, 108), "hair_grey": (150, 148, 144),
    "skin_light": (236, 200, 176), "skin_fair": (222, 184, 150), "skin_medium": (196, 150, 112),
    "skin_tan": (160, 112, 76), "skin_brown": (112, 74, 50), "skin_dark": (72, 48, 34),
}

Weighted = Tuple[Tuple[str, float], ...]  # (name, weight) pairs; weights need not sum to 1


@dataclass(frozen=True)
class ClothingStyle:
    """The identity distribution of a domain (feature-level gap)."""
    upper_palette: Weighted
    lower_palette: Weighted
    shoe_palette: Weighted
    patterns: Weighted            # solid / stripes / checks / two_tone / logo
    lower_kinds: Weighted         # trousers / shorts / skirt
    long_sleeve_prob: float
    coat_prob: float              # upper garment reaching the knees (winter coats)
    backpack_prob: float
    handbag_prob: float
    hat_prob: float
    hat_kinds: Weighted           # cap / beanie
    skin_tones: Weighted
    hair_colours: Weighted
    long_hair_prob: float
    colour_jitter: float          # per-identity spread around a named colour (HSV units)


@dataclass(frozen=True)
class PhotoStyle:
    """How a domain's cameras turn a scene into a crop (pixel-level gap)."""
    image_height: int             # base crop height; Market crops are 128 x 64
    aspect: Tuple[float, float]   # width / height range of the crops
    height_jitter: float          # log-std of crop height (0: fixed size like Market)
    height_range: Tuple[int, int]
    colour_cast: Tuple[float, float, float]   # RGB gains shared by every camera of the domain
    camera_cast_std: float        # log-std of each camera's own extra RGB gains
    brightness: float
    contrast: float
    saturation: float
    blur_sigma: Tuple[float, float]    # per-camera Gaussian blur range (pixels)
    noise_sigma: Tuple[float, float]   # per-camera sensor noise range (0-1 intensity)
    detail: Tuple[float, float]        # per-camera render resolution factor (1: sharp)
    low_quality_cameras: Tuple[int, ...]  # 1-based cameras with poor optics (Market's c6)
    occlusion_prob: float
    jpeg_quality: int


@dataclass(frozen=True)
class NetworkStyle:
    """The camera network and how people move through it (the temporal signal)."""
    num_cameras: int
    area_m: Tuple[float, float]        # campus size the cameras are spread over
    indoor_cameras: int                # how many cameras look at indoor scenes
    outdoor_scenes: Weighted
    indoor_scenes: Weighted
    season: str                        # summer / winter / spring: foliage and ground tint
    cams_per_id: Tuple[int, int]       # how many camera visits a walk makes (inclusive)
    dwell_s: Tuple[float, float]       # time a person stays in one camera's view
    walk_speed: Tuple[float, float]    # m/s, per identity
    tortuosity: Tuple[float, float]    # path length / straight-line distance
    # People start their walks uniformly over the recording. Presets subsample people, not
    # time, so a small world keeps the real recording's span (its temporal cue per person).
    recording_s: float
    sessions: Tuple[str, ...]          # recording sessions; a walk stays within one
    session_s: float                   # session length (0: one session spanning the recording)


@dataclass(frozen=True)
class DomainStyle:
    name: str                          # market / duke / msmt
    description: str
    clothing: ClothingStyle
    photo: PhotoStyle
    network: NetworkStyle


@dataclass(frozen=True)
class DomainSize:
    """How many people and pictures one preset draws from a domain."""
    train_ids: int
    test_ids: int
    images_per_visit: Tuple[int, int]  # inclusive range; >= 2 so every query keeps a gallery
    distractor_ids: int = 0            # people seen in one camera, gallery only (Duke style)
    junk_fraction: float = 0.0         # extra pid -1 images per gallery image (Market style)
    distractor_fraction: float = 0.0   # extra pid 0000 images per gallery image (Market)
    val_fraction: float = 0.0          # train images moved to list_val.txt (MSMT style)


@dataclass(frozen=True)
class SizePreset:
    name: str
    description: str
    sizes: Tuple[Tuple[str, DomainSize], ...]

    def size_of(self, domain: str) -> DomainSize:
        return dict(self.sizes)[domain]


_SKIN_EAST_ASIAN: Weighted = (("skin_light", 0.45), ("skin_fair", 0.4), ("skin_medium", 0.15))
_HAIR_EAST_ASIAN: Weighted = (("hair_black", 0.8), ("hair_dark_brown", 0.15), ("hair_brown", 0.05))

MARKET = DomainStyle(
    name="market",
    description="Market-1501: 6 outdoor cameras in front of a campus supermarket, summer; "
                "bright, saturated short-sleeved clothes; warm high-contrast light; 128x64 crops; "
                "camera 6 is a low-quality camera.",
    clothing=ClothingStyle(
        upper_palette=(("white", 18), ("black", 9), ("grey", 6), ("light_grey", 5), ("red", 7),
                       ("pink", 6), ("blue", 6), ("light_blue", 7), ("yellow", 6), ("lime", 4),
                       ("green", 5), ("orange", 4), ("purple", 4), ("navy", 4), ("teal", 3)),
        lower_palette=(("black", 28), ("denim", 16), ("blue", 5), ("grey", 10), ("white", 6),
                       ("khaki", 12), ("dark_grey", 9), ("beige", 6), ("navy", 5), ("pink", 3)),
        shoe_palette=(("white", 40), ("black", 30), ("grey", 15), ("blue", 8), ("red", 7)),
        patterns=(("solid", 55), ("stripes", 14), ("checks", 8), ("two_tone", 8), ("logo", 15)),
        lower_kinds=(("trousers", 50), ("shorts", 35), ("skirt", 15)),
        long_sleeve_prob=0.25, coat_prob=0.02,
        backpack_prob=0.35, handbag_prob=0.25, hat_prob=0.08,
        hat_kinds=(("cap", 0.9), ("beanie", 0.1)),
        skin_tones=_SKIN_EAST_ASIAN, hair_colours=_HAIR_EAST_ASIAN,
        long_hair_prob=0.35, colour_jitter=0.06,
    ),
    photo=PhotoStyle(
        image_height=128, aspect=(0.5, 0.5), height_jitter=0.0, height_range=(128, 128),
        colour_cast=(1.04, 1.02, 0.95), camera_cast_std=0.05,
        brightness=1.08, contrast=1.12, saturation=1.1,
        blur_sigma=(0.3, 0.7), noise_sigma=(0.01, 0.025), detail=(0.75, 1.0),
        low_quality_cameras=(6,), occlusion_prob=0.12, jpeg_quality=85,
    ),
    network=NetworkStyle(
        num_cameras=6, area_m=(120.0, 80.0), indoor_cameras=0,
        outdoor_scenes=(("pavement", 3), ("campus_green", 3), ("brick", 1), ("road", 2),
                        ("plaza", 2)),
        indoor_scenes=(("indoor_hall", 1),), season="summer",
        cams_per_id=(3, 6), dwell_s=(2.0, 7.0), walk_speed=(0.9, 1.6), tortuosity=(1.1, 1.6),
        recording_s=6000.0, sessions=("",), session_s=0.0,
    ),
)

DUKE = DomainStyle(
    name="duke",
    description="DukeMTMC-reID: 8 outdoor cameras on a US campus in winter; dark coats, jeans, "
                "beanies, many backpacks; cool, dim, low-contrast light; grey stone buildings and "
                "snow; larger crops of varying size.",
    clothing=ClothingStyle(
        upper_palette=(("black", 30), ("dark_grey", 14), ("navy", 10), ("grey", 8),
                       ("brown", 7), ("dark_red", 5), ("dark_green", 5), ("olive", 4),
                       ("camel", 4), ("red", 4), ("white", 4), ("blue", 3), ("beige", 2)),
        lower_palette=(("black", 30), ("denim", 30), ("dark_grey", 12), ("navy", 8),
                       ("grey", 8), ("khaki", 7), ("brown", 5)),
        shoe_palette=(("black", 45), ("brown", 25), ("grey", 15), ("white", 15)),
        patterns=(("solid", 62), ("stripes", 6), ("checks", 8), ("two_tone", 16), ("logo", 8)),
        lower_kinds=(("trousers", 92), ("shorts", 3), ("skirt", 5)),
        long_sleeve_prob=0.97, coat_prob=0.45,
        backpack_prob=0.5, handbag_prob=0.15, hat_prob=0.25,
        hat_kinds=(("cap", 0.3), ("beanie", 0.7)),
        skin_tones=(("skin_light", 0.35), ("skin_fair", 0.25), ("skin_medium", 0.15),
                    ("skin_tan", 0.1), ("skin_brown", 0.1), ("skin_dark", 0.05)),
        hair_colours=(("hair_black", 0.35), ("hair_dark_brown", 0.25), ("hair_brown", 0.2),
                      ("hair_blonde", 0.15), ("hair_grey", 0.05)),
        long_hair_prob=0.3, colour_jitter=0.05,
    ),
    photo=PhotoStyle(
        image_height=176, aspect=(0.34, 0.44), height_jitter=0.14, height_range=(128, 256),
        colour_cast=(0.9, 0.96, 1.08), camera_cast_std=0.04,
        brightness=0.86, contrast=0.86, saturation=0.82,
        blur_sigma=(0.4, 0.9), noise_sigma=(0.008, 0.02), detail=(0.8, 1.0),
        low_quality_cameras=(), occlusion_prob=0.18, jpeg_quality=92,
    ),
    network=NetworkStyle(
        num_cameras=8, area_m=(400.0, 300.0), indoor_cameras=0,
        outdoor_scenes=(("stone_wall", 4), ("snow_path", 3), ("road", 2), ("pavement", 1)),
        indoor_scenes=(("indoor_hall", 1),), season="winter",
        cams_per_id=(2, 4), dwell_s=(3.0, 10.0), walk_speed=(1.0, 1.6), tortuosity=(1.1, 1.5),
        recording_s=5400.0, sessions=("",), session_s=0.0,
    ),
)

MSMT = DomainStyle(
    name="msmt",
    description="MSMT17: 15 cameras (12 outdoor, 3 indoor) on a campus in winter/early spring, "
                "recorded on 4 days in the morning, at noon and in the afternoon, so lighting "
                "varies strongly; warm artificial light indoors; crops of widely varying size.",
    clothing=ClothingStyle(
        upper_palette=(("black", 26), ("dark_grey", 10), ("white", 10), ("grey", 8), ("navy", 8),
                       ("red", 6), ("pink", 5), ("blue", 5), ("beige", 5), ("brown", 5),
                       ("khaki", 4), ("green", 3), ("purple", 3), ("camel", 3)),
        lower_palette=(("black", 40), ("denim", 20), ("dark_grey", 12), ("grey", 10),
                       ("navy", 8), ("khaki", 5), ("white", 5)),
        shoe_palette=(("black", 40), ("white", 35), ("grey", 15), ("brown", 10)),
        patterns=(("solid", 55), ("stripes", 10), ("checks", 8), ("two_tone", 12), ("logo", 15)),
        lower_kinds=(("trousers", 90), ("shorts", 2), ("skirt", 8)),
        long_sleeve_prob=0.92, coat_prob=0.35,
        backpack_prob=0.4, handbag_prob=0.2, hat_prob=0.1,
        hat_kinds=(("cap", 0.4), ("beanie", 0.6)),
        skin_tones=_SKIN_EAST_ASIAN, hair_colours=_HAIR_EAST_ASIAN,
        long_hair_prob=0.35, colour_jitter=0.06,
    ),
    photo=PhotoStyle(
        image_height=160, aspect=(0.34, 0.46), height_jitter=0.22, height_range=(96, 256),
        colour_cast=(1.0, 1.0, 1.0), camera_cast_std=0.08,
        brightness=1.0, contrast=1.0, saturation=0.95,
        blur_sigma=(0.3, 1.2), noise_sigma=(0.01, 0.035), detail=(0.6, 1.0),
        low_quality_cameras=(), occlusion_prob=0.2, jpeg_quality=90,
    ),
    network=NetworkStyle(
        num_cameras=15, area_m=(500.0, 400.0), indoor_cameras=3,
        outdoor_scenes=(("road", 3), ("plaza", 3), ("campus_green", 2), ("pavement", 2),
                        ("brick", 1)),
        indoor_scenes=(("indoor_hall", 2), ("indoor_glass", 1)), season="spring",
        cams_per_id=(2, 6), dwell_s=(2.0, 8.0), walk_speed=(0.9, 1.6), tortuosity=(1.1, 1.6),
        recording_s=12 * 3600.0,
        sessions=tuple(f"{day}{slot}" for day in ("0113", "0114", "0302", "0303")
                       for slot in ("morning", "noon", "afternoon")),
        session_s=3600.0,
    ),
)

DOMAIN_STYLES: Dict[str, DomainStyle] = {s.name: s for s in (MARKET, DUKE, MSMT)}
DEFAULT_DOMAINS: Tuple[str, ...] = ("market", "duke")   # the demo pair

PRESETS: Dict[str, SizePreset] = {p.name: p for p in (
    SizePreset("tiny", "a few seconds; for tests", (
        ("market", DomainSize(12, 8, (2, 2), junk_fraction=0.15, distractor_fraction=0.15)),
        ("duke", DomainSize(12, 8, (2, 2), distractor_ids=3)),
        ("msmt", DomainSize(12, 8, (2, 2), val_fraction=0.1)),
    )),
    SizePreset("small", "the CPU demo; about a minute for two domains on 2 cores", (
        ("market", DomainSize(100, 100, (2, 4), junk_fraction=0.15, distractor_fraction=0.15)),
        ("duke", DomainSize(100, 100, (3, 7), distractor_ids=20)),
        ("msmt", DomainSize(100, 100, (2, 5), val_fraction=0.07)),
    )),
    # Real dataset sizes (train ids, test ids, images per id, junk and distractor shares).
    SizePreset("full", "the size of the real datasets; minutes to tens of minutes", (
        ("market", DomainSize(751, 750, (2, 6), junk_fraction=0.36, distractor_fraction=0.265)),
        ("duke", DomainSize(702, 702, (3, 13), distractor_ids=408)),
        ("msmt", DomainSize(1041, 3060, (3, 13), val_fraction=0.073)),
    )),
)}

# Market1501's loader asserts 0 <= pid <= 1501, so a Market world can hold at most 1501 people.
MARKET_MAX_IDS = 1501


def get_preset(name: str) -> SizePreset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    return PRESETS[name]


def get_domain_style(name: str) -> DomainStyle:
    if name not in DOMAIN_STYLES:
        raise ValueError(f"unknown domain {name!r}; valid domains: {', '.join(DOMAIN_STYLES)}")
    return DOMAIN_STYLES[name]


def parse_domains(text: str) -> Tuple[str, ...]:
    """'market,duke' -> ('market', 'duke'), validated and without duplicates."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not names:
        raise ValueError(f"no domain given; valid domains: {', '.join(DOMAIN_STYLES)}")
    for name in names:
        get_domain_style(name)
    return names


def check_size(domain: str, size: DomainSize) -> None:
    """Refuse sizes the layouts or the query/gallery split cannot honour."""
    if size.images_per_visit[0] < 2 or size.images_per_visit[1] < size.images_per_visit[0]:
        raise ValueError(f"{domain}: images_per_visit must be a range starting at >= 2 so that "
                         f"every query keeps gallery images; got {size.images_per_visit}")
    if size.train_ids < 1 or size.test_ids < 1:
        raise ValueError(f"{domain}: train_ids and test_ids must be >= 1")
    if domain == "market" and size.train_ids + size.test_ids > MARKET_MAX_IDS:
        raise ValueError(f"market: at most {MARKET_MAX_IDS} identities fit fastreid's "
                         f"Market1501 loader; got {size.train_ids + size.test_ids}")
