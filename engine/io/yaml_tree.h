// A compact, read-only YAML tree built from yaml-cpp's parser events, for readers that must report
// where every value came from and must survive hostile input.
//
// Why not YAML::Node: it takes ~250 bytes per node (a 16 MiB flat list needs ~4 GB and 16 s), and it
// silently keeps only the first of two equal keys. Here a node is 20 bytes, every map entry is kept
// (so duplicates can be reported), and an alias points at its anchor's node instead of copying it,
// so an "alias bomb" stays as small as its text. Still, an alias bomb is a tree of 10^9 leaves when
// walked: visit only the nodes a schema names, never the whole tree.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace knee::io {

// Position in the text, 0-based like yaml-cpp's Mark.
struct YamlMark {
    int line = 0;
    int column = 0;
};

enum class YamlType : std::uint8_t { Null, Scalar, Sequence, Map };

struct YamlNode {
    YamlType type = YamlType::Null;
    bool plain = false; // scalar written without quotes or a string tag, so it may be a number
    YamlMark mark;
    std::uint32_t begin = 0; // scalar: offset in the text arena; collection: offset in the child table
    std::uint32_t size = 0; // scalar: bytes; sequence: items; map: key/value pairs
};

class YamlTree {
public:
    using Id = std::uint32_t;

    bool hasDocument() const { return !m_nodes.empty(); }
    Id root() const { return m_root; }
    const YamlNode& node(Id id) const { return m_nodes[id]; }
    YamlType type(Id id) const { return m_nodes[id].type; }
    YamlMark mark(Id id) const { return m_nodes[id].mark; }
    std::string_view scalar(Id id) const { return std::string_view(m_text).substr(m_nodes[id].begin, m_nodes[id].size); }
    std::size_t size(Id id) const { return m_nodes[id].type == YamlType::Scalar ? 0 : m_nodes[id].size; }
    Id item(Id seq, std::size_t i) const { return m_children[m_nodes[seq].begin + i]; }
    Id key(Id map, std::size_t i) const { return m_children[m_nodes[map].begin + 2 * i]; }
    Id value(Id map, std::size_t i) const { return m_children[m_nodes[map].begin + 2 * i + 1]; }

private:
    friend class YamlTreeBuilder;
    std::vector<YamlNode> m_nodes;
    std::vector<Id> m_children;
    std::string m_text;
    Id m_root = 0;
};

struct YamlParseResult {
    enum class Status { Ok, NoDocument, SyntaxError, TooDeep, ExtraDocument, Failed };
    Status status = Status::Failed;
    YamlTree tree;
    YamlMark errorMark; // SyntaxError, TooDeep, ExtraDocument
    std::string errorMessage; // yaml-cpp's words for SyntaxError; what failed for Failed
};

// Parses the first document of `text` (UTF-8) and checks that no second one follows. Never throws.
YamlParseResult parseYaml(std::string_view text);

} // namespace knee::io
