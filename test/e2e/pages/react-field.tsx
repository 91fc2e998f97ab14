// A React-controlled textarea, as apps write them: the value lives in state, onChange sets it.
import { useState } from 'react';
import { createRoot } from 'react-dom/client';

function Notes() {
  const [value, setValue] = useState('');
  return (
    <div>
      <textarea id="react-notes" value={value} onChange={(e) => setValue(e.target.value)} rows={4} cols={60} />
      <p>
        React state length: <span id="react-length">{value.length}</span>
      </p>
    </div>
  );
}

createRoot(document.getElementById('react-root')!).render(<Notes />);
