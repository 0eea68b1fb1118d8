{
  "targets": [
    {
      "target_name": "marble_native",
      "sources": ["marble_native.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
