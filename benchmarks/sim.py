"""Speed of the synthetic world: scene generation, trajectory planning and frame rendering (one JSON line).

`frames_per_s` times `Renderer.render` (ray generation, Open3D cast, colours, depth, instance ids); the floor
under it, `open3d_raycast_frames_per_s`, times Open3D's `cast_rays` alone on the same, pre-built rays. With
`--randomised`, `randomised_frames_per_s` times the same frames with the camera-like appearance randomisation
(`leovl_ros.sim.appearance.CAMERA`: per-pixel lighting, textures, camera response, depth-sensor artefacts). All are
measured alternately on the same poses so machine load affects them alike.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from leovl_ros.sim.appearance import CAMERA
from leovl_ros.sim.render import RenderConfig, Renderer
from leovl_ros.sim.trajectory import robot_trajectory
from leovl_ros.sim.world import generate_scene


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenes", type=int, default=3, help="number of scenes (seeds first-seed …), default 3")
    p.add_argument("--first-seed", type=int, default=0, help="seed of the first scene (default 0)")
    p.add_argument("--frames", type=int, default=30, help="frames rendered per scene (default 30)")
    p.add_argument("--width", type=int, default=640, help="image width (default 640)")
    p.add_argument("--height", type=int, default=480, help="image height (default 480)")
    p.add_argument("--randomised", action="store_true", help="also time the camera-like randomisation (CAMERA)")
    return p.parse_args()


def main() -> None:
    """Run the benchmark and print one JSON line of figures."""
    args = parse_args()
    seeds = list(range(args.first_seed, args.first_seed + args.scenes))
    render_s = cast_s = randomised_s = generate_s = trajectory_s = init_s = 0.0
    n_objects, n_tris = [], []
    for seed in seeds:
        t0 = time.perf_counter()
        scene = generate_scene(seed)
        t1 = time.perf_counter()
        poses = robot_trajectory(scene, args.frames, seed=0)
        t2 = time.perf_counter()
        renderer = Renderer(scene, args.width, args.height)
        t3 = time.perf_counter()
        generate_s += t1 - t0
        trajectory_s += t2 - t1
        init_s += t3 - t2
        n_objects.append(len(scene.objects))
        n_tris.append(renderer.n_triangles)
        renderer.render(poses[0])  # warm-up (Open3D builds its BVH on the first cast)
        randomised = None
        if args.randomised:
            randomised = Renderer(scene, args.width, args.height, config=RenderConfig(appearance=CAMERA))
            randomised.render(poses[0])
        for pose in poses:
            rays = renderer.rays(pose)
            t0 = time.perf_counter()
            renderer.cast(rays)
            t1 = time.perf_counter()
            renderer.render(pose)
            t2 = time.perf_counter()
            cast_s += t1 - t0
            render_s += t2 - t1
            if randomised is not None:
                randomised.render(pose)
                randomised_s += time.perf_counter() - t2
    n = len(seeds) * args.frames
    print(json.dumps({
        "frames_per_s": round(n / render_s, 2),
        "open3d_raycast_frames_per_s": round(n / cast_s, 2),
        "render_overhead_ms": round(1000 * (render_s - cast_s) / n, 2),
        **({"randomised_frames_per_s": round(n / randomised_s, 2),
            "randomised_overhead_ms": round(1000 * (randomised_s - render_s) / n, 2)} if args.randomised else {}),
        "width": args.width,
        "height": args.height,
        "n_frames": n,
        "n_objects": float(np.mean(n_objects)),
        "n_triangles": float(np.mean(n_tris)),
        "scenes": seeds,
        "generate_scene_ms": round(1000 * generate_s / len(seeds), 1),
        "trajectory_ms": round(1000 * trajectory_s / len(seeds), 1),
        "renderer_init_ms": round(1000 * init_s / len(seeds), 1),
    }))


if __name__ == "__main__":
    main()
