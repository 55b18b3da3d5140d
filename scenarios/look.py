"""How an episode looks, apart from what happens in it: light, shadows, a textured floor and backdrop.

`RenderSpec.look` names one of `LOOKS`. `flat` is the 64x64 suites' look (flat shading, a grey
ground, no shadows) and is what every existing episode was made with. `studio` is the HD suite's:
a key light that casts shadows (TinyRenderer's shadow map), a tiled floor and a panelled wall
behind the scene, both from textures made here procedurally (deterministic, no files to download).

What stays true in every look, because the harness depends on it:
- objects keep their palette colours (texture and light only scale their brightness), and the
  floor and wall are unsaturated, so the colour-keyed tracker finds the same objects;
- the floor and wall are scenery, not objects: -1 in `seg`;
- the physics is the same: the floor's collision box is the flat ground's, and the wall has no
  collision shape, so the same seed gives the same states in either look.

Known to work in TinyRenderer (pybullet 3.2.7): `loadTexture` + `changeVisualShape(textureUniqueId=)`
shows in images, and mesh UVs beyond 1 repeat the texture (so the floor tiles at a fixed size in
metres). `changeTexture` did not show (see docs/design.md).
"""
from __future__ import annotations

import functools
import hashlib
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GROUND_HALF = (20.0, 20.0, 0.05)   # the ground box (m), as the flat look's
FLOOR_TILE = 0.25                  # metres per floor tile (texture repeat)
WALL_BEHIND = 2.5                  # the wall stands this far behind the camera target (m), past every scene
TEXTURE_DIR = Path(tempfile.gettempdir()) / "scenarios-textures"  # made on first use, same bytes every time


@dataclass(frozen=True)
class Look:
    shadow: bool                                  # TinyRenderer shadow map on/off
    light_direction: tuple[float, float, float]   # towards the light (world frame)
    light_distance: float                         # light's distance from the origin: sets the shadow map's reach (m)
    ambient: float                                # light everywhere, also in shadow: keeps shadowed objects keyable
    diffuse: float                                # Lambert term
    specular: float                               # highlights; small, so objects keep their saturation
    textured: bool                                # tiled floor and a wall behind the scene

    def light(self) -> dict:
        """The getCameraImage keyword arguments of this look."""
        kw = dict(shadow=int(self.shadow), lightDirection=self.light_direction, lightAmbientCoeff=self.ambient,
                  lightDiffuseCoeff=self.diffuse, lightSpecularCoeff=self.specular)
        if self.shadow:
            kw["lightDistance"] = self.light_distance
        return kw


LOOKS: dict[str, Look] = {
    # the 64x64 suites: the values the engine always used, byte for byte
    "flat": Look(shadow=False, light_direction=(0.4, -0.6, 1.0), light_distance=10.0, ambient=0.6, diffuse=0.45,
                 specular=0.0, textured=False),
    # the HD suite. TinyRenderer's shadow map only removes the diffuse and specular light, so shadows
    # show when diffuse outweighs ambient; ambient 0.35 still keeps an object's darkest side (V about 80 of
    # 255) well above the tracker's minimum brightness (40). The light is high and a little to the side, so
    # shadows fall on the floor near their objects; a light distance of 4 m puts every scene inside the
    # shadow map (at 2.5 m its edge cuts shadow wedges into the wall, at 8 m shadows fade).
    "studio": Look(shadow=True, light_direction=(0.4, -0.5, 1.0), light_distance=4.0, ambient=0.35, diffuse=0.75,
                   specular=0.05, textured=True),
}


# ------------------------------------------------------------------------------------ textures
def _floor_texture(rng: np.random.Generator, n: int = 128) -> np.ndarray:
    """One floor tile: warm grey stone with fine grain and a darker grout line (n x n RGB)."""
    base = 150 + 8 * rng.standard_normal((n // 8, n // 8))
    img = np.kron(base, np.ones((8, 8))) + 10 * rng.standard_normal((n, n))      # blotches + grain
    img[:3, :] *= 0.6
    img[:, :3] *= 0.6                                                             # grout on two edges
    grey = np.clip(img, 0, 255)[..., None]
    return np.clip(grey * np.array([1.04, 1.0, 0.94]), 0, 255).astype(np.uint8)   # saturation ~0.1: never keyed


def _wall_texture(rng: np.random.Generator, h: int = 256, w: int = 512) -> np.ndarray:
    """The backdrop: light blue-grey vertical panels with soft seams, lighter towards the top."""
    y = np.linspace(0.0, 1.0, h)[:, None]
    img = 195 + 40 * (1 - y) + 4 * rng.standard_normal((h, w))                   # row 0 is the top
    seams = (np.arange(w) % 64) < 3
    img[:, seams] -= 35
    img = np.clip(img, 0, 255)[..., None] * np.array([0.95, 0.98, 1.04])
    return np.clip(img, 0, 255).astype(np.uint8)


TEXTURES = {"floor": _floor_texture, "wall": _wall_texture}


@functools.lru_cache(maxsize=None)
def texture_file(name: str) -> str:
    """The texture as a PNG file (made once per machine; the same bytes for every run)."""
    import cv2

    from toolkit.files import atomic_write_bytes
    rgb = TEXTURES[name](np.random.default_rng(list(name.encode())))
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    data = buf.tobytes()
    path = TEXTURE_DIR / f"{name}-{hashlib.sha256(data).hexdigest()[:12]}.png"
    if not path.is_file():
        atomic_write_bytes(path, data)
    return str(path)


# ------------------------------------------------------------------------------------ scenery
def _quad(bc, p, half_w: float, half_h: float, reps: tuple[float, float], normal, offset=(0, 0, 0)) -> int:
    """A visual-only rectangle in its local x-y plane (shifted by offset) with UVs repeating reps times."""
    verts = [[-half_w, -half_h, 0], [half_w, -half_h, 0], [half_w, half_h, 0], [-half_w, half_h, 0]]
    uvs = [[0, 0], [reps[0], 0], [reps[0], reps[1]], [0, reps[1]]]
    return bc.createVisualShape(p.GEOM_MESH, vertices=verts, indices=[0, 1, 2, 0, 2, 3], uvs=uvs,
                                normals=[list(normal)] * 4, rgbaColor=(1, 1, 1, 1), visualFramePosition=list(offset))


def add_ground(scene, p) -> int:
    """The flat look's ground box for collision (the same body, so the same physics), drawn as a
    tiled floor on its top face (z = 0)."""
    col = scene.bc.createCollisionShape(p.GEOM_BOX, halfExtents=GROUND_HALF)
    reps = (2 * GROUND_HALF[0] / FLOOR_TILE, 2 * GROUND_HALF[1] / FLOOR_TILE)
    vis = _quad(scene.bc, p, GROUND_HALF[0], GROUND_HALF[1], reps, (0, 0, 1), offset=(0, 0, GROUND_HALF[2]))
    body = scene.bc.createMultiBody(0.0, col, vis, basePosition=(0, 0, -GROUND_HALF[2]))
    scene.bc.changeVisualShape(body, -1, textureUniqueId=scene.bc.loadTexture(texture_file("floor")))
    return body


def add_backdrop(scene, p, camera, view) -> int:
    """A textured wall (visual only) behind the camera target, facing the camera, filling the view.
    `view` is the camera's view matrix (16 floats, column-major)."""
    eye = np.linalg.inv(np.asarray(view, float).reshape(4, 4).T)[:3, 3]
    back = np.asarray(camera.target, float) - eye
    back[2] = 0.0
    if np.linalg.norm(back) < 1e-6:                         # looking straight down: no wall in view
        return -1
    back /= np.linalg.norm(back)                            # horizontal viewing direction
    depth = camera.distance + WALL_BEHIND                   # from the eye, roughly
    half_h = depth * math.tan(math.radians(camera.fov) / 2) * 1.6
    half_w = 2.2 * half_h                                   # wide enough for 16:9 and oblique views
    centre = np.asarray(camera.target, float) + WALL_BEHIND * back
    centre[2] = half_h - 0.5                                # reaches below the floor, so no gap at the horizon
    # local z (the quad's normal) points back at the camera: rotate +z onto -back, local x horizontal
    x_axis = np.cross([0.0, 0.0, 1.0], -back)
    rot = np.stack([x_axis, [0.0, 0.0, 1.0], -back], axis=1)  # columns: local x, y, z in world
    orn = _quat(rot)
    vis = _quad(scene.bc, p, half_w, half_h, (2 * half_w / 2.0, 1.0), (0, 0, 1))
    wall = scene.bc.createMultiBody(0.0, -1, vis, basePosition=centre.tolist(), baseOrientation=orn)
    scene.bc.changeVisualShape(wall, -1, textureUniqueId=scene.bc.loadTexture(texture_file("wall")))
    return wall


def _quat(rot: np.ndarray) -> list[float]:
    """Rotation matrix (3, 3) -> quaternion (x, y, z, w)."""
    w = math.sqrt(max(0.0, 1 + rot[0, 0] + rot[1, 1] + rot[2, 2])) / 2
    x = math.copysign(math.sqrt(max(0.0, 1 + rot[0, 0] - rot[1, 1] - rot[2, 2])) / 2, rot[2, 1] - rot[1, 2])
    y = math.copysign(math.sqrt(max(0.0, 1 - rot[0, 0] + rot[1, 1] - rot[2, 2])) / 2, rot[0, 2] - rot[2, 0])
    z = math.copysign(math.sqrt(max(0.0, 1 - rot[0, 0] - rot[1, 1] + rot[2, 2])) / 2, rot[1, 0] - rot[0, 1])
    return [x, y, z, w]
