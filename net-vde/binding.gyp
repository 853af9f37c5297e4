{
  "targets": [
    {
      "target_name": "net_vde",
      "sources": [
        "src/addon.cc",
        "src/common.cc",
        "src/sockets.cc",
        "src/messages.cc",
        "src/memory.cc",
        "src/eventfd.cc",
        "src/poller.cc",
        "src/fences.cc",
        "src/ping.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-fexceptions", "-std=gnu++17", "-Wall", "-Wextra"]
    }
  ]
}
