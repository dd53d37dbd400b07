{
  "targets": [
    {
      "target_name": "oppu_kernels",
      "sources": ["src/addon.cc", "src/gemm.cc", "src/ops.cc", "src/decode.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-ffp-contract=off", "-fno-math-errno"],
      "cflags": ["-O3"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["OS=='win'", { "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } } }],
        ["OS=='mac'", { "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"] } }]
      ]
    }
  ]
}
