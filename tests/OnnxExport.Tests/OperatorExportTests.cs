using TorchToNnef.Export.Onnx;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.OnnxTestSupport;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;
using A = TorchToNnef.OnnxTestSupport.OnnxAttr;

namespace TorchToNnef.OnnxExport.Tests;

/// <summary>
/// One small ONNX model per operator form, written by the test: ONNX Runtime runs it, the exporter translates it, the
/// archive is written, re-read and run by our evaluator, and the outputs must agree at tract's <c>approximate</c>.
/// </summary>
public sealed class OperatorExportTests(ITestOutputHelper output)
{
    private const OnnxDataType F = OnnxDataType.Float;

    /// <param name="Atol">Absolute tolerance: tract's approximate (1e-4) for float graphs; one quantization step of the
    /// last quantized value for 8-bit ones (ONNX Runtime's integer kernels and the float path may round a tie apart).</param>
    private sealed record Case(long Opset, (string Name, long[] Shape)[] Inputs, Action<OnnxGraphBuilder> Build, double Atol = 1e-4);

    private static readonly Dictionary<string, Case> Cases = new(StringComparer.Ordinal)
    {
        ["conv2d_groups_dilation_pads"] = new(13, [("x", [1, 4, 9, 10])], g => g
            .Initializer(W("w", 1, 6, 2, 3, 3)).Initializer(W("b", 2, 6))
            .Node("Conv", ["x", "w", "b"], ["y"], A.Int("group", 2), A.Ints("dilations", 2, 1), A.Ints("pads", 1, 0, 2, 1), A.Ints("strides", 1, 2))),
        ["conv1d_same_upper"] = new(13, [("x", [2, 3, 11])], g => g
            .Initializer(W("w", 3, 5, 3, 4))
            .Node("Conv", ["x", "w"], ["y"], A.String("auto_pad", "SAME_UPPER"), A.Ints("strides", 2))),
        ["conv_batchnorm_folded"] = new(13, [("x", [1, 3, 8, 8])], g => g
            .Initializer(W("w", 4, 8, 3, 3, 3)).Initializer(Positive("scale", 5, 8)).Initializer(W("bias", 6, 8))
            .Initializer(W("mean", 7, 8)).Initializer(Positive("var", 8, 8))
            .Node("Conv", ["x", "w"], ["c"], A.Ints("pads", 1, 1, 1, 1))
            .Node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["y"], A.Float("epsilon", 1e-3f))),
        ["batchnorm_standalone"] = new(15, [("x", [2, 3, 5])], g => g
            .Initializer(Positive("scale", 5, 3)).Initializer(W("bias", 6, 3)).Initializer(W("mean", 7, 3)).Initializer(Positive("var", 8, 3))
            .Node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"])),
        ["conv_transpose_stride2_pads"] = new(13, [("x", [1, 4, 5, 6])], g => g
            .Initializer(W("w", 9, 4, 3, 3, 3)).Initializer(W("b", 10, 3))
            .Node("ConvTranspose", ["x", "w", "b"], ["y"], A.Ints("strides", 2, 2), A.Ints("pads", 1, 0, 0, 1))),
        ["conv_transpose_groups_output_padding"] = new(13, [("x", [1, 4, 5, 5])], g => g
            .Initializer(W("w", 11, 4, 2, 2, 3))
            .Node("ConvTranspose", ["x", "w"], ["y"], A.Int("group", 2), A.Ints("strides", 2, 3), A.Ints("output_padding", 1, 2))),
        ["conv_transpose_dilated_1d"] = new(13, [("x", [2, 3, 7])], g => g
            .Initializer(W("w", 12, 3, 2, 3))
            .Node("ConvTranspose", ["x", "w"], ["y"], A.Ints("dilations", 2), A.Ints("strides", 2))),
        ["activations"] = new(14, [("x", [2, 3, 4])], g => g
            .Initializer(W("slope", 13, 3, 1))
            .Node("Relu", ["x"], ["r"]).Node("LeakyRelu", ["x"], ["l"], A.Float("alpha", 0.2f)).Node("PRelu", ["x", "slope"], ["p"])
            .Node("HardSigmoid", ["x"], ["hs"]).Node("HardSwish", ["x"], ["hw"]).Node("Tanh", ["x"], ["t"]).Node("Sigmoid", ["x"], ["s"])
            .Node("Softplus", ["x"], ["sp"]).Node("Elu", ["x"], ["e"]).Node("Erf", ["x"], ["er"])
            .Node("Sum", ["r", "l", "p", "hs", "hw", "t", "s", "sp", "e", "er"], ["y"])),
        ["gelu_opset20"] = new(20, [("x", [3, 5])], g => g.Node("Gelu", ["x"], ["a"]).Node("Gelu", ["x"], ["b"], A.String("approximate", "tanh")).Node("Add", ["a", "b"], ["y"])),
        ["clip_opset13"] = new(13, [("x", [4, 5])], g => g
            .Initializer(OnnxTensorSpec.Floats("lo", [-0.3f])).Initializer(OnnxTensorSpec.Floats("hi", [0.4f]))
            .Node("Clip", ["x", "lo", "hi"], ["y"])),
        ["softmax_logsoftmax"] = new(13, [("x", [2, 3, 5])], g => g
            .Node("Softmax", ["x"], ["a"], A.Int("axis", 1)).Node("LogSoftmax", ["x"], ["b"]).Node("Add", ["a", "b"], ["y"])),
        ["softmax_opset11_flattens"] = new(11, [("x", [2, 3, 4])], g => g.Node("Softmax", ["x"], ["y"], A.Int("axis", 1))),
        ["matmul_batched_and_vector"] = new(13, [("x", [2, 3, 4])], g => g
            .Initializer(W("w", 14, 4, 5)).Initializer(W("v", 15, 5))
            .Node("MatMul", ["x", "w"], ["m"]).Node("MatMul", ["m", "v"], ["y"])),
        ["gemm_trans_alpha_beta"] = new(13, [("x", [4, 3])], g => g
            .Initializer(W("b", 16, 4, 5)).Initializer(W("c", 17, 5))
            .Node("Gemm", ["x", "b", "c"], ["y"], A.Int("transA", 1), A.Float("alpha", 0.5f), A.Float("beta", 2f))),
        ["einsum"] = new(13, [("x", [2, 3, 4])], g => g
            .Initializer(W("w", 18, 4, 5)).Node("Einsum", ["x", "w"], ["y"], A.String("equation", "bij, jk -> bik"))),
        ["arithmetic_broadcast"] = new(13, [("x", [2, 3, 4]), ("z", [3, 1])], g => g
            .Initializer(Positive("p", 19, 4))
            .Node("Add", ["x", "z"], ["a"]).Node("Mul", ["a", "p"], ["b"]).Node("Div", ["b", "p"], ["c"]).Node("Sub", ["c", "z"], ["d"])
            .Node("Abs", ["d"], ["e"]).Node("Sqrt", ["e"], ["f"]).Node("Pow", ["f", "p"], ["g"]).Node("Neg", ["g"], ["h"]).Node("Exp", ["h"], ["i"])
            .Node("Log", ["i"], ["j"]).Node("Reciprocal", ["p"], ["k"]).Node("Max", ["j", "k", "z"], ["l"]).Node("Min", ["l", "x"], ["m"])
            .Node("Floor", ["m"], ["n"]).Node("Ceil", ["x"], ["o"]).Node("Round", ["x"], ["q"]).Node("Sum", ["n", "o", "q"], ["y"])),
        ["compare_where"] = new(13, [("x", [3, 4]), ("z", [4])], g => g
            .Node("Greater", ["x", "z"], ["gt"]).Node("Less", ["x", "z"], ["lt"]).Node("Equal", ["gt", "lt"], ["eq"]).Node("Not", ["eq"], ["ne"])
            .Node("Or", ["gt", "lt"], ["or"]).Node("And", ["or", "ne"], ["and"]).Node("Where", ["and", "x", "z"], ["y"])),
        ["reductions_keepdims"] = new(13, [("x", [2, 3, 4])], g => g
            .Node("ReduceMean", ["x"], ["a"], A.Ints("axes", 1), A.Int("keepdims", 1)).Node("ReduceMax", ["x"], ["b"], A.Ints("axes", 1))
            .Node("ReduceMin", ["x"], ["c"], A.Ints("axes", -2)).Node("ReduceProd", ["x"], ["d"], A.Ints("axes", 1)).Node("ReduceL2", ["x"], ["e"], A.Ints("axes", 1))
            .Node("Sum", ["a", "b", "c", "d", "e"], ["y"])),
        ["reducesum_axes_input_no_keepdims"] = new(13, [("x", [2, 3, 4])], g => g
            .Initializer(OnnxTensorSpec.Int64s("axes", [0, 2], 2)).Node("ReduceSum", ["x", "axes"], ["y"], A.Int("keepdims", 0))),
        ["argmax"] = new(13, [("x", [3, 5])], g => g
            .Node("ArgMax", ["x"], ["i"], A.Int("axis", 1), A.Int("keepdims", 0)).Node("Cast", ["i"], ["y"], A.Int("to", (long)OnnxDataType.Float))),
        ["pools"] = new(13, [("x", [1, 2, 9, 9])], g => g
            .Node("MaxPool", ["x"], ["a"], A.Ints("kernel_shape", 3, 3), A.Ints("strides", 2, 2), A.Int("ceil_mode", 1))
            .Node("AveragePool", ["x"], ["b"], A.Ints("kernel_shape", 3, 3), A.Ints("strides", 2, 2), A.Ints("pads", 1, 1, 1, 1), A.Int("count_include_pad", 1))
            .Node("AveragePool", ["x"], ["c"], A.Ints("kernel_shape", 3, 3), A.Ints("strides", 2, 2), A.Ints("pads", 1, 1, 1, 1))
            .Node("Concat", ["b", "c"], ["bc"], A.Int("axis", 1)).Node("GlobalAveragePool", ["bc"], ["d"]).Node("Concat", ["a", "a"], ["aa"], A.Int("axis", 1)).Node("GlobalMaxPool", ["aa"], ["e"])
            .Node("Add", ["d", "e"], ["y"])),
        ["shape_subgraph_reshape"] = new(13, [("x", [2, 3, 4])], g => g
            .Node("Shape", ["x"], ["s"]).Initializer(OnnxTensorSpec.Int64s("i0", [0], 1)).Node("Gather", ["s", "i0"], ["n"], A.Int("axis", 0))
            .Initializer(OnnxTensorSpec.Int64s("m1", [-1], 1)).Node("Concat", ["n", "m1"], ["shape"], A.Int("axis", 0))
            .Node("Reshape", ["x", "shape"], ["y"])),
        ["flatten_transpose_squeeze_unsqueeze"] = new(13, [("x", [2, 1, 3, 4])], g => g
            .Initializer(OnnxTensorSpec.Int64s("ax1", [1], 1)).Initializer(OnnxTensorSpec.Int64s("ax0", [0, 3], 2))
            .Node("Squeeze", ["x", "ax1"], ["a"]).Node("Transpose", ["a"], ["b"], A.Ints("perm", 2, 0, 1)).Node("Unsqueeze", ["b", "ax0"], ["c"])
            .Node("Flatten", ["c"], ["y"], A.Int("axis", 2))),
        ["slice_split_concat"] = new(13, [("x", [4, 10])], g => g
            .Initializer(OnnxTensorSpec.Int64s("st", [1, -8], 2)).Initializer(OnnxTensorSpec.Int64s("en", [long.MaxValue, -1], 2))
            .Initializer(OnnxTensorSpec.Int64s("ax", [0, 1], 2)).Initializer(OnnxTensorSpec.Int64s("sp", [1, 2], 2))
            .Node("Slice", ["x", "st", "en", "ax", "sp"], ["a"])
            .Initializer(OnnxTensorSpec.Int64s("parts", [3, 7], 2)).Node("Split", ["x", "parts"], ["b", "c"], A.Int("axis", 1))
            .Node("Concat", ["c", "b"], ["d"], A.Int("axis", 1)).Node("ReduceSum", ["a"], ["e"], A.Int("keepdims", 1)).Node("Add", ["d", "e"], ["y"])),
        ["gather_scalar_and_vector"] = new(13, [("x", [5, 3])], g => g
            .Initializer(OnnxTensorSpec.Int64s("i", [-1])).Initializer(OnnxTensorSpec.Int64s("v", [4, 0, 2, 0], 2, 2))
            .Node("Gather", ["x", "i"], ["a"]).Node("Gather", ["x", "v"], ["b"]).Node("Add", ["b", "a"], ["y"])),
        ["gather_elements"] = new(13, [("x", [3, 4])], g => g
            .Initializer(OnnxTensorSpec.Int64s("i", [2, 0, 1, -1, 0, 0, 1, 2, 1, 2, 0, 0], 3, 4))
            .Node("GatherElements", ["x", "i"], ["a"], A.Int("axis", 0))
            .Initializer(OnnxTensorSpec.Int64s("j", [3, 0, 1, 2, 2, 1], 3, 2))
            .Node("GatherElements", ["x", "j"], ["b"], A.Int("axis", 1)).Node("ReduceMax", ["b"], ["bs"], A.Ints("axes", 1))
            .Node("Add", ["a", "bs"], ["y"])),
        ["expand_tile"] = new(13, [("x", [3, 1])], g => g
            .Initializer(OnnxTensorSpec.Int64s("shape", [2, 1, 4], 3)).Initializer(OnnxTensorSpec.Int64s("reps", [1, 2, 1], 3))
            .Node("Expand", ["x", "shape"], ["a"]).Node("Tile", ["a", "reps"], ["y"])),
        ["pad_modes"] = new(13, [("x", [1, 2, 4, 5])], g => g
            .Initializer(OnnxTensorSpec.Int64s("p", [0, 0, 1, 2, 0, 0, 2, 1], 8)).Initializer(OnnxTensorSpec.Floats("v", [0.5f]))
            .Node("Pad", ["x", "p", "v"], ["a"]).Node("Pad", ["x", "p"], ["b"], A.String("mode", "reflect")).Node("Pad", ["x", "p"], ["c"], A.String("mode", "edge"))
            .Node("Sum", ["a", "b", "c"], ["y"])),
        ["resize_nearest_x2_half_pixel"] = new(13, [("x", [1, 2, 3, 5])], g => g
            .Initializer(OnnxTensorSpec.Floats("scales", [1, 1, 2, 2], 4))
            .Node("Resize", ["x", "", "scales"], ["y"], A.String("mode", "nearest"))),
        ["resize_nearest_asymmetric_floor_x3"] = new(13, [("x", [1, 2, 3, 4])], g => g
            .Initializer(OnnxTensorSpec.Floats("scales", [1, 1, 3, 3], 4))
            .Node("Resize", ["x", "", "scales"], ["y"], A.String("mode", "nearest"), A.String("coordinate_transformation_mode", "asymmetric"), A.String("nearest_mode", "floor"))),
        ["resize_linear_half_pixel_sizes"] = new(13, [("x", [1, 2, 4, 5])], g => g
            .Initializer(OnnxTensorSpec.Int64s("sizes", [1, 2, 7, 9], 4))
            .Node("Resize", ["x", "", "", "sizes"], ["y"], A.String("mode", "linear"))),
        ["resize_linear_align_corners"] = new(13, [("x", [1, 1, 4, 3])], g => g
            .Initializer(OnnxTensorSpec.Floats("scales", [1, 1, 2, 2.5f], 4))
            .Node("Resize", ["x", "", "scales"], ["y"], A.String("mode", "linear"), A.String("coordinate_transformation_mode", "align_corners"))),
        ["resize_cubic_half_pixel_scales"] = new(13, [("x", [1, 2, 5, 6])], g => g
            .Initializer(OnnxTensorSpec.Floats("scales", [1, 1, 2, 1.5f], 4))
            .Node("Resize", ["x", "", "scales"], ["y"], A.String("mode", "cubic"))),
        ["resize_cubic_align_corners_coeff_exclude_outside"] = new(13, [("x", [1, 2, 4, 6])], g => g
            .Initializer(OnnxTensorSpec.Int64s("sizes", [1, 2, 7, 4], 4))
            .Node("Resize", ["x", "", "", "sizes"], ["y"], A.String("mode", "cubic"), A.String("coordinate_transformation_mode", "align_corners"),
                A.Float("cubic_coeff_a", -0.5f), A.Int("exclude_outside", 1))),
        ["resize_cubic_asymmetric_downsample"] = new(13, [("x", [1, 1, 9, 7])], g => g
            .Initializer(OnnxTensorSpec.Int64s("sizes", [1, 1, 4, 5], 4))
            .Node("Resize", ["x", "", "", "sizes"], ["y"], A.String("mode", "cubic"), A.String("coordinate_transformation_mode", "asymmetric"))),
        ["resize_cubic_antialias_downsample"] = new(18, [("x", [1, 2, 9, 10])], g => g
            .Initializer(OnnxTensorSpec.Int64s("sizes", [1, 2, 4, 3], 4))
            .Node("Resize", ["x", "", "", "sizes"], ["y"], A.String("mode", "cubic"), A.Int("antialias", 1))),
        ["resize_linear_antialias_downsample_exclude_outside"] = new(18, [("x", [1, 2, 11, 9])], g => g
            .Initializer(OnnxTensorSpec.Int64s("sizes", [1, 2, 5, 4], 4))
            .Node("Resize", ["x", "", "", "sizes"], ["y"], A.String("mode", "linear"), A.Int("antialias", 1), A.Int("exclude_outside", 1))),
        ["resize_linear_antialias_mixed_axes"] = new(18, [("x", [1, 1, 3, 12])], g => g
            .Initializer(OnnxTensorSpec.Int64s("sizes", [7, 5], 2))
            .Node("Resize", ["x", "", "", "sizes"], ["y"], A.String("mode", "linear"), A.Int("antialias", 1), A.Ints("axes", 2, 3))),
        ["resize_tf_crop_and_resize_linear_extrapolation"] = new(13, [("x", [1, 2, 4, 5])], g => g
            .Initializer(OnnxTensorSpec.Floats("roi", [0, 0, 0.2f, -0.3f, 1, 1, 0.9f, 1.4f], 8)).Initializer(OnnxTensorSpec.Int64s("sizes", [1, 2, 5, 6], 4))
            .Node("Resize", ["x", "roi", "", "sizes"], ["y"], A.String("mode", "linear"), A.String("coordinate_transformation_mode", "tf_crop_and_resize"),
                A.Float("extrapolation_value", 7.5f))),
        ["resize_tf_crop_and_resize_cubic"] = new(13, [("x", [1, 1, 6, 6])], g => g
            .Initializer(OnnxTensorSpec.Floats("roi", [0, 0, -0.1f, 0.25f, 1, 1, 0.6f, 0.8f], 8)).Initializer(OnnxTensorSpec.Int64s("sizes", [1, 1, 4, 7], 4))
            .Node("Resize", ["x", "roi", "", "sizes"], ["y"], A.String("mode", "cubic"), A.String("coordinate_transformation_mode", "tf_crop_and_resize"))),
        ["resize_tf_crop_and_resize_nearest_axes"] = new(18, [("x", [1, 2, 5, 5])], g => g
            .Initializer(OnnxTensorSpec.Floats("roi", [0.1f, -0.2f, 0.9f, 0.7f], 4)).Initializer(OnnxTensorSpec.Int64s("sizes", [3, 6], 2))
            .Node("Resize", ["x", "roi", "", "sizes"], ["y"], A.String("mode", "nearest"), A.String("coordinate_transformation_mode", "tf_crop_and_resize"),
                A.String("nearest_mode", "round_prefer_ceil"), A.Float("extrapolation_value", -3f), A.Ints("axes", 2, 3))),
        ["slice_negative_steps_runtime"] = new(13, [("x", [4, 10])], g => g
            .Initializer(OnnxTensorSpec.Int64s("st", [3, 8], 2)).Initializer(OnnxTensorSpec.Int64s("en", [long.MinValue, 1], 2))
            .Initializer(OnnxTensorSpec.Int64s("ax", [0, 1], 2)).Initializer(OnnxTensorSpec.Int64s("sp", [-1, -3], 2))
            .Node("Slice", ["x", "st", "en", "ax", "sp"], ["a"])
            .Initializer(OnnxTensorSpec.Int64s("st2", [1, -2], 2)).Initializer(OnnxTensorSpec.Int64s("en2", [4, -11], 2)).Initializer(OnnxTensorSpec.Int64s("sp2", [2, -2], 2))
            .Node("Slice", ["x", "st2", "en2", "ax", "sp2"], ["b"])
            .Initializer(OnnxTensorSpec.Int64s("st3", [-1], 1)).Initializer(OnnxTensorSpec.Int64s("en3", [-3], 1)).Initializer(OnnxTensorSpec.Int64s("ax3", [-1], 1)).Initializer(OnnxTensorSpec.Int64s("sp3", [-1], 1))
            .Node("Slice", ["x", "st3", "en3", "ax3", "sp3"], ["c"])
            .Initializer(OnnxTensorSpec.Int64s("flat", [-1], 1))
            .Node("Reshape", ["a", "flat"], ["af"]).Node("Reshape", ["b", "flat"], ["bf"]).Node("Reshape", ["c", "flat"], ["cf"])
            .Node("Concat", ["af", "bf", "cf"], ["y"], A.Int("axis", 0))),
        ["mod_integer_runtime_int64"] = new(13, [("x", [3, 8]), ("z", [3, 8])], g => IntegerMod(g, OnnxDataType.Int64)),
        ["mod_integer_runtime_int32"] = new(13, [("x", [3, 8]), ("z", [3, 8])], g => IntegerMod(g, OnnxDataType.Int32)),
        ["upsample_opset9"] = new(9, [("x", [1, 2, 3, 3])], g => g
            .Initializer(OnnxTensorSpec.Floats("scales", [1, 1, 2, 2], 4)).Node("Upsample", ["x", "scales"], ["y"])),
        ["layernorm_instancenorm"] = new(17, [("x", [2, 3, 6])], g => g
            .Initializer(W("g", 20, 6)).Initializer(W("b", 21, 6)).Initializer(W("s", 22, 3)).Initializer(W("c", 23, 3))
            .Node("LayerNormalization", ["x", "g", "b"], ["a"]).Node("InstanceNormalization", ["a", "s", "c"], ["y"])),
        ["constant_of_shape_range_cast"] = new(13, [("x", [2, 5])], g => g
            .Node("Shape", ["x"], ["s"]).Node("ConstantOfShape", ["s"], ["ones"], A.Tensor("value", OnnxTensorSpec.Floats("v", [1.5f], 1)))
            .Initializer(OnnxTensorSpec.Int64s("start", [0])).Initializer(OnnxTensorSpec.Int64s("limit", [5])).Initializer(OnnxTensorSpec.Int64s("delta", [1]))
            .Node("Range", ["start", "limit", "delta"], ["r"]).Node("Cast", ["r"], ["rf"], A.Int("to", (long)OnnxDataType.Float))
            .Node("Mul", ["x", "rf"], ["a"]).Node("Add", ["a", "ones"], ["b"]).Node("Identity", ["b"], ["c"]).Node("Dropout", ["c"], ["y"])),
        ["if_on_constant_condition"] = new(13, [("x", [2, 3])], g => g
            .Initializer(OnnxTensorSpec.Of("cond", OnnxDataType.Bool, new byte[] { 1 }))
            .Node("If", ["cond"], ["y"],
                A.Graph("then_branch", new OnnxGraphBuilder("then").Node("Relu", ["x"], ["t"]).Output("t", F, null)),
                A.Graph("else_branch", new OnnxGraphBuilder("else").Node("Neg", ["x"], ["e"]).Output("e", F, null)))),
        // A condition computed at run time (a score against a threshold, shaped [1, 1] as torch exports it): both
        // branches are computed, each output selected; one case takes each branch. The then-branch reads an outer value
        // and has an initializer of its own.
        ["if_runtime_condition_then_taken"] = new(13, [("x", [2, 3])], g => RuntimeIf(g, -10f)),
        ["if_runtime_condition_else_taken"] = new(13, [("x", [2, 3])], g => RuntimeIf(g, 10f)),
        ["if_runtime_condition_scalar_opset11"] = new(11, [("x", [2, 3])], g => g
            .Node("ReduceMax", ["x"], ["m"], A.Int("keepdims", 0)).Initializer(OnnxTensorSpec.Floats("zero", [0f]))
            .Node("Greater", ["m", "zero"], ["cond1"]).Initializer(OnnxTensorSpec.Int64s("scalar", [], 0)).Node("Reshape", ["cond1", "scalar"], ["cond"])
            .Node("If", ["cond"], ["y", "unused"],
                A.Graph("then_branch", new OnnxGraphBuilder("then").Node("Sigmoid", ["x"], ["t"]).Node("Abs", ["x"], ["t2"]).Output("t", F, null).Output("t2", F, null)),
                A.Graph("else_branch", new OnnxGraphBuilder("else").Node("Tanh", ["x"], ["e"]).Node("Identity", ["x"], ["e2"]).Output("e", F, null).Output("e2", F, null)))),
        ["qdq_relu"] = new(13, [("x", [2, 3, 4])], g => g
            .Initializer(OnnxTensorSpec.Floats("s", [0.05f])).Initializer(OnnxTensorSpec.Of("z", OnnxDataType.UInt8, new byte[] { 128 }))
            .Node("QuantizeLinear", ["x", "s", "z"], ["q"]).Node("DequantizeLinear", ["q", "s", "z"], ["d"]).Node("Relu", ["d"], ["y"]), 0.05),
        ["qdq_conv_int8_weights"] = new(13, [("x", [1, 3, 6, 6])], g => g
            .Initializer(OnnxTensorSpec.Floats("xs", [0.03f])).Initializer(OnnxTensorSpec.Of("xz", OnnxDataType.UInt8, new byte[] { 120 }))
            .Initializer(OnnxTensorSpec.Of("w", OnnxDataType.Int8, Int8s(31, 4 * 3 * 3 * 3), 4, 3, 3, 3))
            .Initializer(OnnxTensorSpec.Floats("ws", [0.01f])).Initializer(OnnxTensorSpec.Of("wz", OnnxDataType.Int8, new sbyte[] { 0 }))
            .Initializer(OnnxTensorSpec.Floats("ys", [0.04f])).Initializer(OnnxTensorSpec.Of("yz", OnnxDataType.UInt8, new byte[] { 100 }))
            .Node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]).Node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"])
            .Node("DequantizeLinear", ["w", "ws", "wz"], ["wd"]).Node("Conv", ["xd", "wd"], ["c"], A.Ints("pads", 1, 1, 1, 1))
            .Node("QuantizeLinear", ["c", "ys", "yz"], ["cq"]).Node("DequantizeLinear", ["cq", "ys", "yz"], ["y"]), 0.04 + 1e-4),
        ["qlinear_conv"] = new(13, [("x", [1, 2, 5, 5])], g => g
            .Initializer(OnnxTensorSpec.Floats("xs", [0.03f])).Initializer(OnnxTensorSpec.Of("xz", OnnxDataType.UInt8, new byte[] { 128 }))
            .Initializer(OnnxTensorSpec.Of("w", OnnxDataType.Int8, Int8s(32, 3 * 2 * 3 * 3), 3, 2, 3, 3))
            .Initializer(OnnxTensorSpec.Floats("ws", [0.02f])).Initializer(OnnxTensorSpec.Of("wz", OnnxDataType.Int8, new sbyte[] { 0 }))
            .Initializer(OnnxTensorSpec.Floats("ys", [0.05f])).Initializer(OnnxTensorSpec.Of("yz", OnnxDataType.UInt8, new byte[] { 110 }))
            .Initializer(OnnxTensorSpec.Of("b", OnnxDataType.Int32, new[] { 100, -200, 300 }, 3))
            .Node("QuantizeLinear", ["x", "xs", "xz"], ["xq"])
            .Node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["yq"], A.Ints("strides", 2, 2))
            .Node("DequantizeLinear", ["yq", "ys", "yz"], ["y"]), 0.05 + 1e-4),
        ["qlinear_matmul"] = new(13, [("x", [3, 8])], g => g
            .Initializer(OnnxTensorSpec.Floats("xs", [0.02f])).Initializer(OnnxTensorSpec.Of("xz", OnnxDataType.UInt8, new byte[] { 128 }))
            .Initializer(OnnxTensorSpec.Of("w", OnnxDataType.UInt8, Int8s(33, 8 * 5).Select(v => (byte)(v + 128)).ToArray(), 8, 5))
            .Initializer(OnnxTensorSpec.Floats("ws", [0.01f])).Initializer(OnnxTensorSpec.Of("wz", OnnxDataType.UInt8, new byte[] { 128 }))
            .Initializer(OnnxTensorSpec.Floats("ys", [0.03f])).Initializer(OnnxTensorSpec.Of("yz", OnnxDataType.UInt8, new byte[] { 128 }))
            .Node("QuantizeLinear", ["x", "xs", "xz"], ["xq"])
            .Node("QLinearMatMul", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["yq"])
            .Node("DequantizeLinear", ["yq", "ys", "yz"], ["y"]), 0.03 + 1e-4),
    };

    public static IEnumerable<object[]> CaseNames => Cases.Keys.Order(StringComparer.Ordinal).Select(k => new object[] { k });

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Operator_matches_onnx_runtime(string name)
    {
        Case c = Cases[name];
        using var dir = new TempDir();
        var model = new OnnxModelBuilder(c.Opset);
        foreach ((string input, long[] shape) in c.Inputs)
        {
            model.Graph.Input(input, F, [.. shape.Cast<object?>()]);
        }

        c.Build(model.Graph);
        model.Graph.Output("y", F, null);
        string path = model.Save(dir.File("model.onnx"));
        int seed = 100;
        var inputs = c.Inputs.ToDictionary(i => i.Name, i => OnnxExportHarness.RandomFloats(seed++, i.Shape, -2, 2), StringComparer.Ordinal);
        foreach (OracleComparison r in OnnxExportHarness.ExportAndCompare(path, inputs, dir.File("out.nnef.tgz")))
        {
            output.WriteLine($"{name}: max |error| {r.MaxAbsError:E2}");
            Assert.Null(OnnxExportHarness.Approximate(r.Expected, r.Got, c.Atol));
        }
    }

    [Fact]
    public void Per_channel_quantization_is_refused_naming_the_node()
    {
        using var dir = new TempDir();
        var model = new OnnxModelBuilder(13);
        model.Graph.Input("x", F, 3, 4)
            .Initializer(OnnxTensorSpec.Of("w", OnnxDataType.Int8, Int8s(1, 12), 3, 4))
            .Initializer(OnnxTensorSpec.Floats("s", [0.1f, 0.2f, 0.3f], 3)).Initializer(OnnxTensorSpec.Of("z", OnnxDataType.Int8, new sbyte[] { 0, 0, 0 }, 3))
            .NamedNode("dq_w", "DequantizeLinear", ["w", "s", "z"], ["wd"], [A.Int("axis", 0)])
            .NamedNode("add", "Add", ["x", "wd"], ["y"], []).Output("y", F, null);
        string path = model.Save(dir.File("model.onnx"));
        using OnnxModel m = OnnxModel.Load(path);
        var e = Assert.Throws<Errors.UnsupportedFeatureException>(() => OnnxExporter.Translate(m));
        Assert.Contains("'dq_w'", e.Message, StringComparison.Ordinal);
        Assert.Contains("per-channel", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Antialias_with_tf_crop_and_resize_is_refused_naming_the_node()
    {
        using var dir = new TempDir();
        var model = new OnnxModelBuilder(18);
        model.Graph.Input("x", F, 1, 1, 6, 6)
            .Initializer(OnnxTensorSpec.Floats("roi", [0, 0, 0, 0, 1, 1, 0.5f, 0.5f], 8)).Initializer(OnnxTensorSpec.Int64s("sizes", [1, 1, 2, 2], 4))
            .NamedNode("crop", "Resize", ["x", "roi", "", "sizes"], ["y"], [A.String("mode", "linear"), A.String("coordinate_transformation_mode", "tf_crop_and_resize"), A.Int("antialias", 1)])
            .Output("y", F, null);
        string path = model.Save(dir.File("model.onnx"));
        using OnnxModel m = OnnxModel.Load(path);
        var e = Assert.Throws<Errors.UnsupportedFeatureException>(() => OnnxExporter.Translate(m));
        Assert.Contains("'crop'", e.Message, StringComparison.Ordinal);
        Assert.Contains("antialias with coordinate_transformation_mode 'tf_crop_and_resize'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Edge_padding_is_written_with_the_border_name_tract_reads()
    {
        // tract's NNEF reader takes border 'constant', 'reflect' or 'replicated' and fails on NNEF's 'replicate'.
        using var dir = new TempDir();
        var model = new OnnxModelBuilder(13);
        model.Graph.Input("x", F, 1, 2, 4).Initializer(OnnxTensorSpec.Int64s("p", [0, 0, 1, 0, 0, 2], 6))
            .Node("Pad", ["x", "p"], ["a"], A.String("mode", "edge")).Node("Pad", ["a", "p"], ["y"], A.String("mode", "reflect"))
            .Output("y", F, null);
        string path = model.Save(dir.File("model.onnx"));
        using OnnxModel m = OnnxModel.Load(path);
        Formats.Nnef.NnefArchive.Write(OnnxExporter.Translate(m).Graph, dir.File("out"));
        string text = File.ReadAllText(Path.Combine(dir.File("out"), "graph.nnef"));
        Assert.Contains("border = 'replicated'", text, StringComparison.Ordinal);
        Assert.Contains("border = 'reflect'", text, StringComparison.Ordinal);
        Assert.DoesNotContain("'replicate'", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_operators_are_all_listed_before_anything_is_written()
    {
        using var dir = new TempDir();
        var model = new OnnxModelBuilder(13);
        model.Graph.Input("x", F, 2, 3)
            .NamedNode("first", "NonMaxSuppression", ["x"], ["a"], [])
            .NamedNode("second", "Relu", ["a"], ["b"], [])
            .NamedNode("third", "Det", ["b"], ["c"], [])
            .NamedNode("fourth", "Det", ["c"], ["y"], [])
            .Output("y", F, null);
        string path = model.Save(dir.File("model.onnx"));
        using OnnxModel m = OnnxModel.Load(path);
        var e = Assert.Throws<Errors.UnsupportedFeatureException>(() => OnnxExporter.Translate(m));
        Assert.Contains("Det (2 nodes: 'third', 'fourth')", e.Message, StringComparison.Ordinal);
        Assert.Contains("NonMaxSuppression (1 node: 'first')", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Relu", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Run_time_if_whose_branches_cannot_be_selected_is_refused_naming_the_node(bool symbolic)
    {
        // then squeezes the last axis, else keeps it (what silero VAD does on a size it tests at run time): no select
        // can express that, so the export is refused naming the node and what would fold the condition. With a
        // symbolic last axis the squeeze itself cannot be translated, and the refusal says which branch failed.
        using var dir = new TempDir();
        var model = new OnnxModelBuilder(13);
        model.Graph.Input("x", F, 2, symbolic ? "n" : 1)
            .Node("ReduceMax", ["x"], ["m"], A.Int("keepdims", 0)).Initializer(OnnxTensorSpec.Floats("zero", [0f]))
            .Node("Greater", ["m", "zero"], ["cond"])
            .Initializer(OnnxTensorSpec.Int64s("last", [-1], 1))
            .NamedNode("pick", "If", ["cond"], ["y"], [
                A.Graph("then_branch", new OnnxGraphBuilder("squeezed").Node("Squeeze", ["x", "last"], ["t"]).Output("t", F, null)),
                A.Graph("else_branch", new OnnxGraphBuilder("kept").Node("Identity", ["x"], ["e"]).Output("e", F, null))])
            .Output("y", F, null);
        string path = model.Save(dir.File("model.onnx"));
        using OnnxModel m = OnnxModel.Load(path);
        var e = Assert.Throws<Errors.UnsupportedFeatureException>(() => OnnxExporter.Translate(m));
        Assert.Contains("'pick' (If)", e.Message, StringComparison.Ordinal);
        Assert.Contains(symbolic ? "branch 'squeezed' cannot be: node" : "f32[2] in 'squeezed' and f32[2, 1] in 'kept'", e.Message, StringComparison.Ordinal);
        Assert.Contains("--input-value", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, e.Message.Split(path).Length - 1);
    }

    // If on [1, 1] = max(x) > threshold: then = relu(x) * w (w an initializer of the branch), else = -x + b (b outer).
    private static void RuntimeIf(OnnxGraphBuilder g, float threshold) => g
        .Node("ReduceMax", ["x"], ["m"], A.Int("keepdims", 1)).Initializer(OnnxTensorSpec.Floats("threshold", [threshold]))
        .Node("Greater", ["m", "threshold"], ["cond"]).Initializer(W("b", 40, 3))
        .Node("If", ["cond"], ["y"],
            A.Graph("then_branch", new OnnxGraphBuilder("then").Initializer(W("w", 41, 2, 3)).Node("Relu", ["x"], ["r"]).Node("Mul", ["r", "w"], ["t"]).Output("t", F, null)),
            A.Graph("else_branch", new OnnxGraphBuilder("else").Node("Neg", ["x"], ["n"]).Node("Add", ["n", "b"], ["e"]).Output("e", F, null)));

    // Integer Mod with fmod 0 and 1 on values cast from the inputs: by constant divisors of both signs (powers of two
    // among them, which tract divides by shifting) and by divisors computed at run time, one positive and one negative.
    private static void IntegerMod(OnnxGraphBuilder g, OnnxDataType type)
    {
        long to = (long)type;
        g.Initializer(OnnxTensorSpec.Floats("ten", [10f])).Initializer(OnnxTensorSpec.Floats("three", [3f]))
            .Node("Mul", ["x", "ten"], ["xs"]).Node("Cast", ["xs"], ["xi"], A.Int("to", to))
            .Node("Mul", ["z", "three"], ["zs"]).Node("Cast", ["zs"], ["zi"], A.Int("to", to));
        if (type == OnnxDataType.Int64)
        {
            g.Initializer(OnnxTensorSpec.Int64s("divisors", [4, -4, 3, -3, 5, 8, -8, 7], 8)).Initializer(OnnxTensorSpec.Int64s("seven", [7], 1));
        }
        else
        {
            g.Initializer(OnnxTensorSpec.Of("divisors", OnnxDataType.Int32, new[] { 4, -4, 3, -3, 5, 8, -8, 7 }, 8)).Initializer(OnnxTensorSpec.Of("seven", OnnxDataType.Int32, new[] { 7 }, 1));
        }

        g.Node("Add", ["zi", "seven"], ["positive"]).Node("Sub", ["zi", "seven"], ["negative"])
            .Node("Mod", ["xi", "divisors"], ["m0"]).Node("Mod", ["xi", "divisors"], ["m1"], A.Int("fmod", 1))
            .Node("Mod", ["xi", "positive"], ["m2"]).Node("Mod", ["xi", "negative"], ["m3"])
            .Node("Mod", ["xi", "negative"], ["m4"], A.Int("fmod", 1)).Node("Mod", ["xi", "positive"], ["m5"], A.Int("fmod", 1))
            .Node("Concat", ["m0", "m1", "m2", "m3", "m4", "m5"], ["all"], A.Int("axis", 0))
            .Node("Cast", ["all"], ["y"], A.Int("to", (long)OnnxDataType.Float));
    }

    private static sbyte[] Int8s(int seed, int count)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => (sbyte)rng.Next(-60, 61))];
    }

    private static OnnxTensorSpec W(string name, int seed, params long[] dims) =>
        OnnxTensorSpec.Floats(name, OnnxExportHarness.RandomFloats(seed, dims, -1, 1).ToFloatArray(), dims);

    private static OnnxTensorSpec Positive(string name, int seed, params long[] dims) =>
        OnnxTensorSpec.Floats(name, OnnxExportHarness.RandomFloats(seed, dims, 0.5f, 1.5f).ToFloatArray(), dims);
}
