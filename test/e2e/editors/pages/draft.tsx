/** Draft.js as sites embed it (rendered here with the project's React). Tandem has no adapter: it must refuse. */
import { Editor, EditorState, ContentState } from 'draft-js';
import { useState } from 'react';
import { createRoot } from 'react-dom/client';

function App(): React.JSX.Element {
  const [state, setState] = useState(() => EditorState.createWithContent(ContentState.createFromText('Draft text here.')));
  (window as unknown as { draftText: () => string }).draftText = () => state.getCurrentContent().getPlainText();
  return <Editor editorState={state} onChange={setState} />;
}
createRoot(document.getElementById('shared')!).render(<App />);
document.documentElement.dataset.editorReady = 'true';
