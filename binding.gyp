{
  "targets": [
    {
      "target_name": "wspass_native",
      "sources": [
        "src/native/addon.c",
        "src/native/addon_fds.c",
        "src/native/addon_front.c",
        "src/native/addon_legs.c",
        "src/native/addon_tunnels.c",
        "src/native/backend_leg.c",
        "src/native/coalesce.c",
        "src/native/front.c",
        "src/native/held_fds.c",
        "src/native/pipe_pool.c",
        "src/native/relay.c",
        "src/native/relay_hold.c",
        "src/native/relay_splice.c",
        "src/native/thread_state.c",
        "src/native/tunnel.c",
        "src/native/tunnel_loop.c",
        "src/native/ws_frames.c",
        "src/native/ws_goodbye.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Werror"],
      "cflags!": ["-fno-exceptions"]
    }
  ]
}
