"""`leovl-sim`: write a synthetic scene as a ScanNet-layout RGB-D folder plus its ground truth."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from leovl_ros.sim.furnish import SceneConfig, generate_scene
from leovl_ros.sim.render import Renderer, Visibility
from leovl_ros.sim.trajectory import robot_trajectory


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(
        prog="leovl-sim",
        description="Generate a procedural indoor scene, render a robot's RGB-D sequence through it and write "
                    "a ScanNet-layout folder (color/, depth/, pose/, intrinsic/) with scene.json (ground truth: "
                    "objects with class, colour, oriented box, support) and visibility.json (pixels and frames "
                    "in which each object is seen).")
    p.add_argument("--seed", type=int, required=True, help="scene seed (the scene is deterministic in it)")
    p.add_argument("--out", type=Path, help="output folder (created)")
    p.add_argument("--frames", type=int, default=300, help="number of frames (default 300)")
    p.add_argument("--width", type=int, default=640, help="image width in pixels (default 640)")
    p.add_argument("--height", type=int, default=480, help="image height in pixels (default 480)")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate used for stamps and spacing (default 30)")
    p.add_argument("--trajectory-seed", type=int, default=0, help="seed of the camera path (default 0)")
    p.add_argument("--ceiling", action="store_true", help="close the room with a ceiling")
    p.add_argument("--preview", type=Path, help="also write a top-down PNG of the room and the camera path")
    args = p.parse_args(argv)
    if args.out is None and args.preview is None:
        p.error("give --out and/or --preview")
    if args.seed < 0 or args.frames < 1 or args.width < 1 or args.height < 1 or args.fps <= 0:
        p.error("--seed must be ≥ 0 and --frames, --width, --height and --fps positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Generate, render and write one scene."""
    args = parse_args(argv)
    from tqdm import tqdm

    scene = generate_scene(args.seed, SceneConfig(ceiling=args.ceiling))
    poses = robot_trajectory(scene, args.frames, args.trajectory_seed, fps=args.fps)
    if args.preview is not None:
        from leovl_ros.sim.preview import plot_scene

        args.preview.parent.mkdir(parents=True, exist_ok=True)
        plot_scene(scene, args.preview, poses)
    if args.out is not None:
        from leovl_ros.io.rgbd import write_scannet

        renderer = Renderer(scene, args.width, args.height)
        frames = (renderer.render(p, stamp=i / args.fps, frame_id=str(i)) for i, p in enumerate(poses))
        visibility = Visibility()
        progress = tqdm(frames, total=len(poses), desc=f"scene {args.seed}", unit="frame")
        write_scannet((visibility.add(f) for f in progress), args.out)
        scene.save(args.out / "scene.json")
        summary = {"frames": len(poses), "pixels": {str(k): v for k, v in sorted(visibility.pixels.items())},
                   "frames_seen": {str(k): v for k, v in sorted(visibility.frames.items())}}
        (args.out / "visibility.json").write_text(json.dumps(summary, indent=1))
        print(f"wrote {len(poses)} frames of scene {args.seed} ({scene.room.kind}, {len(scene.objects)} objects, "
              f"{len(visibility.seen())} seen) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
