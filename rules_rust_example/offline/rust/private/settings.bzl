"""A boolean build setting (bazel_skylib's bool_flag, without the dependency)."""

BoolSettingInfo = provider(
    doc = "The value of a boolean build setting.",
    fields = {"value": "bool"},
)

def _bool_flag_impl(ctx):
    return [BoolSettingInfo(value = ctx.build_setting_value)]

bool_flag = rule(
    implementation = _bool_flag_impl,
    build_setting = config.bool(flag = True),
)
