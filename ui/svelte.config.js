// Svelte 5 with runes everywhere; TypeScript in <script lang="ts"> is handled by the compiler.
export default {
  compilerOptions: { runes: true },
};
