import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../', import.meta.url));
const entry = `${root}src/index.ts`;

function isPrivate(decl: ts.Declaration | undefined): boolean {
  const modifiers = decl && ts.canHaveModifiers(decl) ? (ts.getModifiers(decl) ?? []) : [];
  return modifiers.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword);
}

/**
 * Every type a caller meets through the public API (a parameter, a return value, a public
 * member, an option) that is declared in framebus itself, paired with where it was met.
 */
function typesReachable(): { exported: Set<string>; reached: Map<string, string> } {
  const program = ts.createProgram([entry], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const exports = checker.getExportsOfModule(moduleSymbol);
  const exported = new Set(exports.map((s) => s.name));
  const reached = new Map<string, string>();
  const seen = new Set<ts.Type>();
  const ours = (symbol: ts.Symbol | undefined) =>
    symbol?.declarations?.some((d) => d.getSourceFile().fileName.startsWith(`${root}src/`)) ?? false;

  const visitSignature = (signature: ts.Signature, where: string) => {
    for (const p of signature.getParameters()) visitType(checker.getTypeOfSymbol(p), `${where}(${p.name})`);
    visitType(signature.getReturnType(), `${where}()`);
  };
  const visitType = (type: ts.Type, where: string): void => {
    if (seen.has(type)) return;
    seen.add(type);
    if (type.isUnionOrIntersection()) return type.types.forEach((t) => visitType(t, where));
    for (const arg of checker.getTypeArguments(type as ts.TypeReference) ?? []) visitType(arg, where);
    for (const arg of type.aliasTypeArguments ?? []) visitType(arg, where);
    const symbol = type.aliasSymbol ?? type.getSymbol();
    if (!ours(symbol)) return;
    const named = symbol!.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class | ts.SymbolFlags.Enum | ts.SymbolFlags.TypeAlias);
    if (named && !reached.has(symbol!.name)) reached.set(symbol!.name, where);
    for (const s of type.getCallSignatures()) visitSignature(s, where);
    for (const prop of type.getProperties()) {
      const decl = prop.valueDeclaration ?? prop.declarations?.[0];
      if (!decl || !ours(prop)) continue;
      if (isPrivate(decl) || prop.name.startsWith('#')) continue;
      visitType(checker.getTypeOfSymbolAtLocation(prop, decl), `${symbol!.name}.${prop.name}`);
    }
  };

  for (const symbol of exports) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const decl = target.declarations?.[0];
    if (!decl) continue;
    if (target.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable | ts.SymbolFlags.Class)) {
      const type = checker.getTypeOfSymbolAtLocation(target, decl);
      for (const s of type.getCallSignatures()) visitSignature(s, symbol.name);
      for (const s of type.getConstructSignatures()) if (!isPrivate(s.getDeclaration())) visitSignature(s, `new ${symbol.name}`);
      visitType(type, symbol.name);
    }
    if (target.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) {
      visitType(checker.getDeclaredTypeOfSymbol(target), symbol.name);
    }
  }
  return { exported, reached };
}

test('every framebus type reachable from the public API is exported from the entry point', () => {
  const { exported, reached } = typesReachable();
  const missing = [...reached].filter(([name]) => !exported.has(name)).map(([name, where]) => `${name} (via ${where})`);
  assert.deepEqual(missing, [], `types callers meet but cannot import from 'framebus':\n  ${missing.join('\n  ')}`);
  assert.ok(reached.size > 40, `the walk reached only ${reached.size} types; it is not seeing the API`);
});
