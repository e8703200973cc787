// Recursive descent over a hand-written lexer. Precedence, loosest first:
//   or < and < not < comparison (= <> < <= > >=, not chained) < + - < * / < unary - < primary
#include "formula/parser.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include "base/strings.h"

namespace quantatom::formula {

bool Node::SameTree(const Node& other) const {
  if (kind != other.kind || text != other.text || parts != other.parts || bracketed != other.bracketed ||
      args.size() != other.args.size())
    return false;
  if (kind == NodeKind::kNumber && !(number == other.number)) return false;
  for (size_t i = 0; i < args.size(); ++i)
    if (!args[i]->SameTree(*other.args[i])) return false;
  return true;
}

namespace {

enum class Tok { kEnd, kNumber, kName, kQuoted, kString, kPunct };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // the name, the unquoted string, or the punctuation
  double number = 0;
  int line = 1, column = 1;
};

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }

bool IsKeyword(std::string_view s) {
  auto eq = [&](std::string_view k) {
    if (s.size() != k.size()) return false;
    for (size_t i = 0; i < s.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(s[i])) != k[i]) return false;
    return true;
  };
  return eq("and") || eq("or") || eq("not");
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd: return "the end of the formula";
    case Tok::kNumber: return StrCat("number ", t.text);
    case Tok::kName: return StrCat("'", t.text, "'");
    case Tok::kQuoted: return StrCat("quoted name '", t.text, "'");
    case Tok::kString: return StrCat("string \"", t.text, "\"");
    case Tok::kPunct: return StrCat("'", t.text, "'");
  }
  return "?";
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<NodePtr> ParseAll() {
    QA_RETURN_IF_ERROR(Advance());
    QA_ASSIGN_OR_RETURN(NodePtr node, ParseOr());
    if (tok_.kind != Tok::kEnd) return Expected("an operator or the end of the formula");
    return node;
  }

 private:
  absl::Status ErrorAt(int line, int column, std::string_view what) const {
    return absl::InvalidArgumentError(StrCat("line ", line, ", column ", column, ": ", what));
  }
  absl::Status Expected(std::string_view what) const {
    return ErrorAt(tok_.line, tok_.column, StrCat("expected ", what, " but found ", Describe(tok_)));
  }

  // Reads the next token into tok_.
  absl::Status Advance() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        line_start_ = ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else {
        break;
      }
    }
    tok_ = Token{};
    tok_.line = line_;
    tok_.column = static_cast<int>(pos_ - line_start_) + 1;
    if (pos_ >= text_.size()) return absl::OkStatus();
    const char c = text_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && pos_ + 1 < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_ + 1])))) {
      size_t end = pos_;
      while (end < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[end])) || text_[end] == '.')) ++end;
      if (end < text_.size() && (text_[end] == 'e' || text_[end] == 'E')) {
        size_t e = end + 1;
        if (e < text_.size() && (text_[e] == '+' || text_[e] == '-')) ++e;
        if (e < text_.size() && std::isdigit(static_cast<unsigned char>(text_[e]))) {
          while (e < text_.size() && std::isdigit(static_cast<unsigned char>(text_[e]))) ++e;
          end = e;
        }
      }
      tok_.kind = Tok::kNumber;
      tok_.text = std::string(text_.substr(pos_, end - pos_));
      auto [p, ec] = std::from_chars(text_.data() + pos_, text_.data() + end, tok_.number);
      if (ec != std::errc() || p != text_.data() + end || !std::isfinite(tok_.number))
        return ErrorAt(tok_.line, tok_.column, StrCat("malformed number '", tok_.text, "'"));
      pos_ = end;
      return absl::OkStatus();
    }
    if (IsNameStart(c)) {
      size_t end = pos_;
      while (end < text_.size() && IsNameChar(text_[end])) ++end;
      tok_.kind = Tok::kName;
      tok_.text = std::string(text_.substr(pos_, end - pos_));
      pos_ = end;
      return absl::OkStatus();
    }
    if (c == '\'' || c == '"') {
      // 'Quoted code' and "string": the quote doubled inside stands for itself.
      std::string out;
      size_t p = pos_ + 1;
      for (;;) {
        if (p >= text_.size() || text_[p] == '\n')
          return ErrorAt(tok_.line, tok_.column, StrCat("unterminated ", c == '\'' ? "quoted name" : "string"));
        if (text_[p] == c) {
          if (p + 1 < text_.size() && text_[p + 1] == c) {
            out.push_back(c);
            p += 2;
            continue;
          }
          break;
        }
        out.push_back(text_[p++]);
      }
      if (c == '\'' && out.empty()) return ErrorAt(tok_.line, tok_.column, "empty quoted name");
      tok_.kind = c == '\'' ? Tok::kQuoted : Tok::kString;
      tok_.text = std::move(out);
      pos_ = p + 1;
      return absl::OkStatus();
    }
    static constexpr std::string_view kTwo[] = {"<>", "<=", ">="};
    for (std::string_view two : kTwo)
      if (text_.substr(pos_, 2) == two) {
        tok_.kind = Tok::kPunct;
        tok_.text = std::string(two);
        pos_ += 2;
        return absl::OkStatus();
      }
    if (std::string_view("()[],=<>+-*/").find(c) != std::string_view::npos) {
      tok_.kind = Tok::kPunct;
      tok_.text = std::string(1, c);
      ++pos_;
      return absl::OkStatus();
    }
    return ErrorAt(tok_.line, tok_.column,
                   std::isprint(static_cast<unsigned char>(c)) ? StrCat("unexpected character '", std::string(1, c), "'")
                                                               : StrCat("unexpected byte ", static_cast<int>(static_cast<unsigned char>(c))));
  }

  bool IsPunct(std::string_view p) const { return tok_.kind == Tok::kPunct && tok_.text == p; }
  bool IsWord(std::string_view w) const { return tok_.kind == Tok::kName && Lower(tok_.text) == w; }

  absl::Status Expect(std::string_view p) {
    if (!IsPunct(p)) return Expected(StrCat("'", p, "'"));
    return Advance();
  }

  NodePtr Make(NodeKind kind, const Token& at) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->line = at.line;
    n->column = at.column;
    return n;
  }

  absl::Status Enter() {
    if (++depth_ > kMaxDepth) return ErrorAt(tok_.line, tok_.column, StrCat("formula nested deeper than ", kMaxDepth));
    return absl::OkStatus();
  }

  absl::StatusOr<NodePtr> Binary(NodePtr left, const Token& op, NodePtr right) {
    NodePtr n = Make(NodeKind::kBinary, op);
    n->line = left->line;
    n->column = left->column;
    n->text = op.kind == Tok::kName ? Lower(op.text) : op.text;
    n->args.push_back(std::move(left));
    n->args.push_back(std::move(right));
    return n;
  }

  absl::StatusOr<NodePtr> ParseOr() {
    QA_RETURN_IF_ERROR(Enter());
    QA_ASSIGN_OR_RETURN(NodePtr left, ParseAnd());
    while (IsWord("or")) {
      Token op = tok_;
      QA_RETURN_IF_ERROR(Advance());
      QA_ASSIGN_OR_RETURN(NodePtr right, ParseAnd());
      QA_ASSIGN_OR_RETURN(left, Binary(std::move(left), op, std::move(right)));
    }
    --depth_;
    return left;
  }

  absl::StatusOr<NodePtr> ParseAnd() {
    QA_ASSIGN_OR_RETURN(NodePtr left, ParseNot());
    while (IsWord("and")) {
      Token op = tok_;
      QA_RETURN_IF_ERROR(Advance());
      QA_ASSIGN_OR_RETURN(NodePtr right, ParseNot());
      QA_ASSIGN_OR_RETURN(left, Binary(std::move(left), op, std::move(right)));
    }
    return left;
  }

  absl::StatusOr<NodePtr> ParseNot() {
    if (IsWord("not")) {
      QA_RETURN_IF_ERROR(Enter());
      NodePtr n = Make(NodeKind::kUnary, tok_);
      n->text = "not";
      QA_RETURN_IF_ERROR(Advance());
      QA_ASSIGN_OR_RETURN(NodePtr operand, ParseNot());
      n->args.push_back(std::move(operand));
      --depth_;
      return n;
    }
    return ParseComparison();
  }

  absl::StatusOr<NodePtr> ParseComparison() {
    QA_ASSIGN_OR_RETURN(NodePtr left, ParseAdditive());
    static constexpr std::string_view kOps[] = {"=", "<>", "<", "<=", ">", ">="};
    for (std::string_view op : kOps)
      if (IsPunct(op)) {
        Token at = tok_;
        QA_RETURN_IF_ERROR(Advance());
        QA_ASSIGN_OR_RETURN(NodePtr right, ParseAdditive());
        QA_ASSIGN_OR_RETURN(left, Binary(std::move(left), at, std::move(right)));
        for (std::string_view again : kOps)
          if (IsPunct(again))
            return ErrorAt(tok_.line, tok_.column,
                           StrCat("comparisons do not chain: put parentheses around one side of '", again, "'"));
        break;
      }
    return left;
  }

  absl::StatusOr<NodePtr> ParseAdditive() {
    QA_ASSIGN_OR_RETURN(NodePtr left, ParseMultiplicative());
    while (IsPunct("+") || IsPunct("-")) {
      Token op = tok_;
      QA_RETURN_IF_ERROR(Advance());
      QA_ASSIGN_OR_RETURN(NodePtr right, ParseMultiplicative());
      QA_ASSIGN_OR_RETURN(left, Binary(std::move(left), op, std::move(right)));
    }
    return left;
  }

  absl::StatusOr<NodePtr> ParseMultiplicative() {
    QA_ASSIGN_OR_RETURN(NodePtr left, ParseUnary());
    while (IsPunct("*") || IsPunct("/")) {
      Token op = tok_;
      QA_RETURN_IF_ERROR(Advance());
      QA_ASSIGN_OR_RETURN(NodePtr right, ParseUnary());
      QA_ASSIGN_OR_RETURN(left, Binary(std::move(left), op, std::move(right)));
    }
    return left;
  }

  absl::StatusOr<NodePtr> ParseUnary() {
    if (IsPunct("-") || IsPunct("+")) {
      QA_RETURN_IF_ERROR(Enter());
      const bool minus = IsPunct("-");
      Token at = tok_;
      QA_RETURN_IF_ERROR(Advance());
      QA_ASSIGN_OR_RETURN(NodePtr operand, ParseUnary());
      --depth_;
      if (!minus) return operand;  // unary plus changes nothing
      NodePtr n = Make(NodeKind::kUnary, at);
      n->text = "-";
      n->args.push_back(std::move(operand));
      return n;
    }
    return ParsePrimary();
  }

  absl::StatusOr<RefPart> ParseRefPart() {
    if (tok_.kind != Tok::kName && tok_.kind != Tok::kQuoted) return Expected("a member code or Dimension=Code");
    if (tok_.kind == Tok::kName && IsKeyword(tok_.text)) return Expected("a member code (quote a code named like an operator)");
    RefPart part;
    part.code = tok_.text;
    QA_RETURN_IF_ERROR(Advance());
    if (IsPunct("=")) {
      QA_RETURN_IF_ERROR(Advance());
      if (tok_.kind != Tok::kName && tok_.kind != Tok::kQuoted) return Expected(StrCat("a member code after '", part.code, "='"));
      part.dim = std::move(part.code);
      part.code = tok_.text;
      QA_RETURN_IF_ERROR(Advance());
    }
    return part;
  }

  absl::StatusOr<NodePtr> ParsePrimary() {
    const Token at = tok_;
    if (tok_.kind == Tok::kNumber) {
      NodePtr n = Make(NodeKind::kNumber, at);
      n->number = tok_.number;
      QA_RETURN_IF_ERROR(Advance());
      return n;
    }
    if (tok_.kind == Tok::kString) {
      NodePtr n = Make(NodeKind::kString, at);
      n->text = tok_.text;
      QA_RETURN_IF_ERROR(Advance());
      return n;
    }
    if (IsPunct("(")) {
      QA_RETURN_IF_ERROR(Advance());
      QA_ASSIGN_OR_RETURN(NodePtr inner, ParseOr());
      QA_RETURN_IF_ERROR(Expect(")"));
      return inner;
    }
    if (IsPunct("[")) {
      NodePtr n = Make(NodeKind::kRef, at);
      n->bracketed = true;
      QA_RETURN_IF_ERROR(Advance());
      for (;;) {
        QA_ASSIGN_OR_RETURN(RefPart part, ParseRefPart());
        n->parts.push_back(std::move(part));
        if (IsPunct(",")) {
          QA_RETURN_IF_ERROR(Advance());
          continue;
        }
        if (IsPunct("]")) break;
        return Expected("',' or ']'");
      }
      QA_RETURN_IF_ERROR(Advance());
      return n;
    }
    if (tok_.kind == Tok::kQuoted) {
      NodePtr n = Make(NodeKind::kRef, at);
      n->parts.push_back(RefPart{"", tok_.text});
      QA_RETURN_IF_ERROR(Advance());
      return n;
    }
    if (tok_.kind == Tok::kName && !IsKeyword(tok_.text)) {
      std::string name = tok_.text;
      QA_RETURN_IF_ERROR(Advance());
      if (!IsPunct("(")) {
        NodePtr n = Make(NodeKind::kRef, at);
        n->parts.push_back(RefPart{"", std::move(name)});
        return n;
      }
      QA_RETURN_IF_ERROR(Enter());
      NodePtr n = Make(NodeKind::kCall, at);
      n->text = Lower(name);
      QA_RETURN_IF_ERROR(Advance());
      if (!IsPunct(")")) {
        for (;;) {
          QA_ASSIGN_OR_RETURN(NodePtr arg, ParseOr());
          n->args.push_back(std::move(arg));
          if (IsPunct(",")) {
            QA_RETURN_IF_ERROR(Advance());
            continue;
          }
          if (IsPunct(")")) break;
          return Expected("',' or ')'");
        }
      }
      QA_RETURN_IF_ERROR(Advance());
      --depth_;
      return n;
    }
    return Expected("a number, a member, a function or '('");
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
  int depth_ = 0;
  Token tok_;
};

// ---- Printing.

int Precedence(const Node& n) {
  if (n.kind == NodeKind::kBinary) {
    if (n.text == "or") return 1;
    if (n.text == "and") return 2;
    if (n.text == "+" || n.text == "-") return 5;
    if (n.text == "*" || n.text == "/") return 6;
    return 4;  // comparisons
  }
  if (n.kind == NodeKind::kUnary) return n.text == "not" ? 3 : 7;
  return 8;
}

std::string Name(const std::string& code) {
  bool plain = !code.empty() && IsNameStart(code[0]) && !IsKeyword(code);
  for (char c : code) plain = plain && IsNameChar(c);
  if (plain) return code;
  std::string out = "'";
  for (char c : code) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void PrintTo(const Node& n, std::string* out);

void PrintOperand(const Node& child, bool parens, std::string* out) {
  if (parens) *out += '(';
  PrintTo(child, out);
  if (parens) *out += ')';
}

void PrintTo(const Node& n, std::string* out) {
  switch (n.kind) {
    case NodeKind::kNumber: {
      char buf[64];
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, n.number);
      out->append(buf, p);
      return;
    }
    case NodeKind::kString:
      *out += Quoted(n.text);
      return;
    case NodeKind::kRef: {
      if (!n.bracketed) {
        *out += Name(n.parts[0].code);
        return;
      }
      *out += '[';
      for (size_t i = 0; i < n.parts.size(); ++i) {
        if (i) *out += ", ";
        if (!n.parts[i].dim.empty()) StrAppend(out, Name(n.parts[i].dim), "=");
        *out += Name(n.parts[i].code);
      }
      *out += ']';
      return;
    }
    case NodeKind::kUnary: {
      const int p = Precedence(n);
      *out += n.text == "not" ? "not " : "-";
      PrintOperand(*n.args[0], Precedence(*n.args[0]) < p, out);
      return;
    }
    case NodeKind::kBinary: {
      const int p = Precedence(n);
      const bool comparison = p == 4;
      PrintOperand(*n.args[0], comparison ? Precedence(*n.args[0]) <= p : Precedence(*n.args[0]) < p, out);
      StrAppend(out, " ", n.text, " ");
      PrintOperand(*n.args[1], Precedence(*n.args[1]) <= p, out);
      return;
    }
    case NodeKind::kCall:
      StrAppend(out, n.text, "(");
      for (size_t i = 0; i < n.args.size(); ++i) {
        if (i) *out += ", ";
        PrintTo(*n.args[i], out);
      }
      *out += ')';
      return;
  }
}

}  // namespace

absl::StatusOr<NodePtr> Parse(std::string_view text) {
  if (text.size() > kMaxFormulaBytes)
    return absl::InvalidArgumentError(StrCat("formula is ", text.size(), " bytes; at most ", kMaxFormulaBytes, " are allowed"));
  Parser parser(text);
  return parser.ParseAll();
}

std::string Print(const Node& node) {
  std::string out;
  PrintTo(node, &out);
  return out;
}

}  // namespace quantatom::formula
