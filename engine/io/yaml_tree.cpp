#include "yaml_tree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <istream>
#include <new>
#include <streambuf>

namespace knee::io {

namespace {

// An istream over the caller's text, so a 16 MiB input is not copied once more.
class ViewBuffer : public std::streambuf {
public:
    explicit ViewBuffer(std::string_view text)
    {
        char* p = const_cast<char*>(text.data());
        setg(p, p, p + text.size());
    }
};

YamlMark toMark(const YAML::Mark& m)
{
    return { m.line, m.column };
}

// Thrown by the handler to stop at the start of a second document without parsing it.
struct SecondDocument {
    YamlMark mark;
    bool stuck = false; // it starts where the first did: yaml-cpp made no progress (see parseYaml)
    int pos = 0;
};

// Tags that keep a scalar's content typed by its text (an explicit !!int or !!float).
bool typedTag(const std::string& tag)
{
    return tag == "?" || tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float";
}

} // namespace

class YamlTreeBuilder : public YAML::EventHandler {
public:
    explicit YamlTreeBuilder(YamlTree& tree)
        : m_tree(tree)
    {
    }

    void OnDocumentStart(const YAML::Mark& mark) override
    {
        if (m_documents++ > 0)
            throw SecondDocument { toMark(mark), mark.pos == m_firstPos, mark.pos };
        m_firstPos = mark.pos;
    }
    void OnDocumentEnd() override { }

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { add(newNode(YamlType::Null, mark, anchor)); }

    // A shallow copy of the anchored node: the alias gets its own mark (messages point at the use),
    // and shares the anchor's children, so nothing is expanded. An alias inside its own anchor's
    // collection (`&a [*a]`) copies a collection not yet closed, which reads as empty: no cycles.
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override
    {
        // yaml-cpp has already refused an alias to an unknown anchor; this guards the index only.
        if (anchor >= m_anchors.size())
            throw YAML::ParserException(mark, "alias to an unknown anchor");
        YamlNode copy = m_tree.m_nodes[m_anchors[anchor]];
        copy.mark = toMark(mark);
        const auto id = YamlTree::Id(m_tree.m_nodes.size());
        m_tree.m_nodes.push_back(copy);
        add(id);
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, const std::string& value) override
    {
        const YamlTree::Id id = newNode(YamlType::Scalar, mark, anchor);
        YamlNode& n = m_tree.m_nodes[id];
        n.plain = typedTag(tag);
        n.begin = std::uint32_t(m_tree.m_text.size());
        n.size = std::uint32_t(value.size());
        m_tree.m_text += value;
        add(id);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override
    {
        open(newNode(YamlType::Sequence, mark, anchor));
    }
    void OnSequenceEnd() override { close(1); }

    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override
    {
        open(newNode(YamlType::Map, mark, anchor));
    }
    void OnMapEnd() override { close(2); }

    int documents() const { return m_documents; }

private:
    YamlTree::Id newNode(YamlType type, const YAML::Mark& mark, YAML::anchor_t anchor)
    {
        const auto id = YamlTree::Id(m_tree.m_nodes.size());
        YamlNode n;
        n.type = type;
        n.mark = toMark(mark);
        m_tree.m_nodes.push_back(n);
        if (anchor != YAML::NullAnchor) {
            // yaml-cpp numbers anchors 1, 2, 3, … in the order they appear.
            if (anchor >= m_anchors.size())
                m_anchors.resize(anchor + 1, 0);
            m_anchors[anchor] = id;
        }
        return id;
    }

    void add(YamlTree::Id id)
    {
        if (m_open.empty())
            m_tree.m_root = id;
        else
            m_pending.push_back(id);
    }

    // A collection's children are collected on a stack and copied into one contiguous run of the
    // child table when it closes, so nested collections never interleave.
    void open(YamlTree::Id id)
    {
        add(id);
        m_open.push_back({ id, m_pending.size() });
    }

    void close(std::size_t perEntry)
    {
        const auto [id, start] = m_open.back();
        m_open.pop_back();
        YamlNode& n = m_tree.m_nodes[id];
        n.begin = std::uint32_t(m_tree.m_children.size());
        n.size = std::uint32_t((m_pending.size() - start) / perEntry);
        m_tree.m_children.insert(m_tree.m_children.end(), m_pending.begin() + std::ptrdiff_t(start), m_pending.end());
        m_pending.resize(start);
    }

    struct Open {
        YamlTree::Id id;
        std::size_t start;
    };
    YamlTree& m_tree;
    std::vector<YamlTree::Id> m_anchors;
    std::vector<YamlTree::Id> m_pending;
    std::vector<Open> m_open;
    int m_documents = 0;
    int m_firstPos = -1;
};

YamlParseResult parseYaml(std::string_view text)
{
    YamlParseResult result;
    try {
        ViewBuffer buffer(text);
        std::istream in(&buffer);
        YAML::Parser parser(in);
        YamlTreeBuilder builder(result.tree);
        if (!parser.HandleNextDocument(builder) || !result.tree.hasDocument()) {
            result.status = YamlParseResult::Status::NoDocument;
            return result;
        }
        try {
            parser.HandleNextDocument(builder);
        } catch (const SecondDocument& second) {
            result.errorMark = second.mark;
            if (second.stuck) {
                // yaml-cpp 0.7 ends a document at a token that cannot start a node (a ',' or ']' at the
                // top level) without taking it, so every next "document" starts there again: its
                // LoadAll never returns. PyYAML calls it an error, and so does knee.
                result.status = YamlParseResult::Status::SyntaxError;
                const char c = std::size_t(second.pos) < text.size() ? text[std::size_t(second.pos)] : '?';
                result.errorMessage = std::string("unexpected '") + c + "': no YAML node starts with it";
                return result;
            }
            result.status = YamlParseResult::Status::ExtraDocument;
            return result;
        }
        result.status = YamlParseResult::Status::Ok;
    } catch (const YAML::ParserException& e) {
        // yaml-cpp's depth guard (DeepRecursion, not exported from the shared library) says "bad file".
        result.status
            = e.msg == YAML::ErrorMsg::BAD_FILE ? YamlParseResult::Status::TooDeep : YamlParseResult::Status::SyntaxError;
        result.errorMark = toMark(e.mark);
        result.errorMessage = e.msg;
    } catch (const std::bad_alloc&) {
        result.status = YamlParseResult::Status::Failed;
        result.errorMessage = "out of memory while parsing";
    } catch (const std::exception& e) {
        result.status = YamlParseResult::Status::Failed;
        result.errorMessage = e.what();
    } catch (...) {
        result.status = YamlParseResult::Status::Failed;
        result.errorMessage = "unknown failure while parsing";
    }
    if (result.status != YamlParseResult::Status::Ok)
        result.tree = YamlTree();
    return result;
}

} // namespace knee::io
