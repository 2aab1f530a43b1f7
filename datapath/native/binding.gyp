{
  "targets": [
    {
      "target_name": "af_packet",
      "sources": ["af_packet.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "raw_ip",
      "sources": ["raw_ip.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
