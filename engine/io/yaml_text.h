// Checks on raw YAML text before and after yaml-cpp sees it: encoding and binary content (yaml-cpp
// would report NUL bytes as an "unknown escape character"), and tabs used for indentation (which
// yaml-cpp reports as "illegal map value" somewhere after the tab).
#pragma once
#include "yaml_tree.h"

#include <optional>
#include <string>
#include <string_view>

namespace knee::io {

struct TextProblem {
    YamlMark mark; // 0-based; the column counts characters, as an editor does
    std::string message;
};

// The first byte sequence that is not UTF-8, or the first character YAML does not allow in a
// document (C0/C1 controls other than tab, LF, CR and NEL; DEL; U+FFFE, U+FFFF).
std::optional<TextProblem> checkYamlText(std::string_view text);

// The first tab in a line's leading whitespace, on line `lastLine` (0-based) or before it.
std::optional<YamlMark> findIndentationTab(std::string_view text, int lastLine);

} // namespace knee::io
